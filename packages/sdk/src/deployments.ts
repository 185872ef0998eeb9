import { type CallInput, deploymentRoutes as d } from "@keel/contract";
import type { Caller } from "./caller";

type Body<R extends Parameters<Caller>[0]> = CallInput<R> extends { body?: infer B } ? B : never;

/** Deployments: stable/canary/shadow rollouts, canary analysis, async scoring. */
export class DeploymentsClient {
  constructor(private readonly call: Caller) {}

  async list() {
    return (await this.call(d.list)).deployments;
  }
  get(name: string) {
    return this.call(d.get, { params: { name } });
  }
  create(body: Body<typeof d.create>) {
    return this.call(d.create, { body });
  }
  update(name: string, settings: Record<string, unknown>) {
    return this.call(d.update, { params: { name }, body: settings });
  }
  async delete(name: string) {
    await this.call(d.delete, { params: { name } });
  }
  shift(name: string, body: Body<typeof d.shift>) {
    return this.call(d.shift, { params: { name }, body });
  }
  setShadow(name: string, body: Body<typeof d.setShadow>) {
    return this.call(d.setShadow, { params: { name }, body });
  }
  clearShadow(name: string) {
    return this.call(d.clearShadow, { params: { name } });
  }
  promote(name: string, reason?: string) {
    return this.call(d.promote, { params: { name }, body: { reason } });
  }
  rollback(name: string, reason?: string) {
    return this.call(d.rollback, { params: { name }, body: { reason } });
  }
  analyze(name: string) {
    return this.call(d.analyze, { params: { name } });
  }
  inferAsync(name: string, request: Body<typeof d.inferAsync>) {
    return this.call(d.inferAsync, { params: { name }, body: request });
  }
  scoringResult(id: string) {
    return this.call(d.scoringResult, { params: { id } });
  }
}
