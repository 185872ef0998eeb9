import type { MetadataStore } from "@keel/metadata";
import { type Target, targetLabel } from "./records";

const MAX_RUN_ID = 256;
const pk = (runId: string) => `FROZENRUN#${runId}`;

export interface FreezeReason {
  requestId: string;
  modelName: string;
  version: number;
  target: Target;
  status: "PENDING" | "APPROVED";
}

/**
 * Source runs of versions with a pending or approved promotion: what a reviewer saw (metrics,
 * params, tags) may not change under them. One item per promotion request; a rejected request
 * lifts its own freeze, an approved one keeps it.
 */
export class FrozenRuns {
  constructor(private readonly store: MetadataStore) {}

  async freeze(runId: string, reason: FreezeReason): Promise<void> {
    if (!runId) return;
    await this.store.put({ pk: pk(runId), sk: `REQ#${reason.requestId}`, ...reason });
  }

  async release(runId: string, requestId: string): Promise<void> {
    if (!runId) return;
    await this.store.delete({ pk: pk(runId), sk: `REQ#${requestId}` });
  }

  /** Why the run may not be written to, or undefined when it may. */
  async reason(runId: string): Promise<string | undefined> {
    if (!runId || runId.length > MAX_RUN_ID) return undefined;
    const { items } = await this.store.query({ pk: pk(runId), limit: 1, consistent: true });
    const r = items[0] as unknown as FreezeReason | undefined;
    if (!r) return undefined;
    return (
      `run ${runId} is the source of model '${r.modelName}' version ${r.version}, which has ` +
      `${r.status === "APPROVED" ? "an approved" : "a pending"} promotion into ${targetLabel(r.target)} ` +
      `(request ${r.requestId}): its metrics, params, tags and status are frozen`
    );
  }
}
