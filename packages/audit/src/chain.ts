import { canonicalJson, digest, sha256 } from "@keel/core";
import type { AuditEvent, VerifyResult } from "./port";

export const GENESIS_HASH = "0".repeat(64);

/** The hash of an event: SHA-256 over the canonical JSON of every field but `hash` and `state`. */
export function hashEvent(e: Omit<AuditEvent, "hash" | "state">): string {
  const { seq, time, principal, action, resource, stateDigest, requestId, prevHash } = e;
  return sha256(canonicalJson({ seq, time, principal, action, resource, stateDigest, requestId, prevHash }));
}

/**
 * Recomputes a chain from its first event: numbers run 1, 2, 3..., each event links to the
 * previous hash, its own hash matches its fields and its state matches the chained digest.
 * Stops at the first event that fails and names it; reads the events once, in order.
 */
export async function verifyChain(events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>): Promise<VerifyResult> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  for await (const e of events) {
    const fail = (reason: string): VerifyResult => ({ ok: false, count, seq: e.seq, reason });
    if (e.seq !== expectedSeq) {
      return fail(e.seq > expectedSeq ? `sequence gap: expected ${expectedSeq}` : `sequence out of order: expected ${expectedSeq}`);
    }
    if (e.prevHash !== prevHash) return fail("prevHash does not match the previous event's hash");
    if (hashEvent(e) !== e.hash) return fail("hash does not match the event's fields");
    if (digest(e.state ?? null) !== e.stateDigest) return fail("state does not match its chained digest");
    prevHash = e.hash;
    expectedSeq++;
    count++;
  }
  return { ok: true, count, lastHash: prevHash };
}
