import { type CallInput, featureRoutes as f } from "@keel/contract";
import type { Caller } from "./caller";

type Body<R extends Parameters<Caller>[0]> = CallInput<R> extends { body?: infer B } ? B : never;

/** The feature store: online reads, push, definitions, materialization, training sets. */
export class FeaturesClient {
  constructor(private readonly call: Caller) {}

  online(body: Body<typeof f.getOnlineFeatures>) {
    return this.call(f.getOnlineFeatures, { body });
  }
  push(body: Body<typeof f.push>) {
    return this.call(f.push, { body });
  }
  apply(definitions: unknown, dryRun = false) {
    return this.call(f.apply, { body: { definitions, dry_run: dryRun } });
  }
  definitions() {
    return this.call(f.listDefinitions);
  }
  async materialize(body: Body<typeof f.materialize> = {}) {
    return (await this.call(f.materialize, { body })).views;
  }
  historical(body: Body<typeof f.historical>) {
    return this.call(f.historical, { body });
  }
}
