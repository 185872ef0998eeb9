import { type CallInput, pipelineRoutes as p } from "@keel/contract";
import type { Caller } from "./caller";

type Body<R extends Parameters<Caller>[0]> = CallInput<R> extends { body?: infer B } ? B : never;

/** Pipelines: registered definitions, runs, backfills. */
export class PipelinesClient {
  constructor(private readonly call: Caller) {}

  async list() {
    return (await this.call(p.list)).pipelines;
  }
  get(name: string) {
    return this.call(p.get, { params: { name } });
  }
  async start(name: string, body: Body<typeof p.startRun> = {}) {
    return (await this.call(p.startRun, { params: { name }, body })).run;
  }
  backfill(name: string, body: Body<typeof p.backfill>) {
    return this.call(p.backfill, { params: { name }, body });
  }
  runs(query: { pipeline?: string; limit?: number; page_token?: string } = {}) {
    return this.call(p.listRuns, { query });
  }
  getRun(id: string) {
    return this.call(p.getRun, { params: { id } });
  }
  async stop(id: string) {
    return (await this.call(p.stopRun, { params: { id } })).run;
  }
  async resume(id: string) {
    return (await this.call(p.resumeRun, { params: { id } })).run;
  }
}
