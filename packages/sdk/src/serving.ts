import { type CallInput, kserveRoutes as k } from "@keel/contract";
import type { Caller } from "./caller";

type Body<R extends Parameters<Caller>[0]> = CallInput<R> extends { body?: infer B } ? B : never;

/** Online inference (Open Inference Protocol) and explanations, through a deployment's router. */
export class ServingClient {
  constructor(private readonly call: Caller) {}

  infer(model: string, request: Body<typeof k.infer>, version?: string) {
    return version === undefined
      ? this.call(k.infer, { params: { model }, body: request })
      : this.call(k.inferVersion, { params: { model, version }, body: request });
  }
  explain(model: string, request: Body<typeof k.explain>, version?: string) {
    return version === undefined
      ? this.call(k.explain, { params: { model }, body: request })
      : this.call(k.explainVersion, { params: { model, version }, body: request });
  }
  metadata(model: string) {
    return this.call(k.modelMetadata, { params: { model } });
  }
}
