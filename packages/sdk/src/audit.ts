import { auditRoutes as a, type CallInput } from "@keel/contract";
import type { Caller } from "./caller";

type Query = CallInput<typeof a.list> extends { query?: infer Q } ? Q : never;

/** The audit trail: read and verify. */
export class AuditClient {
  constructor(private readonly call: Caller) {}

  list(query: Query = {}) {
    return this.call(a.list, { query });
  }
  verify() {
    return this.call(a.verify);
  }
}
