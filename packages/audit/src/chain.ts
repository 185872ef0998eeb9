import { digest, sha256 } from "@keel/core";
import type { AuditEvent, VerifyResult } from "./port";

export const GENESIS_HASH = "0".repeat(64);

/**
 * The hash of an event: SHA-256 over the canonical JSON (keys sorted, as `canonicalJson`
 * writes it) of every field but `hash` and `state`. The string is built directly because
 * verification hashes every event of the trail; a test pins it to `canonicalJson`.
 */
export function hashEvent(e: Omit<AuditEvent, "hash" | "state">): string {
  const j = JSON.stringify;
  return sha256(
    `{"action":${j(e.action)},"prevHash":${j(e.prevHash)},"principal":${j(e.principal)},"requestId":${j(e.requestId)},` +
      `"resource":${j(e.resource)},"seq":${j(e.seq)},"stateDigest":${j(e.stateDigest)},"time":${j(e.time)}}`,
  );
}

/**
 * An event as read for verification. `stateJson` is the stored text of the state when the
 * reader has it: stored canonically, its SHA-256 is the state digest and needs no parsing.
 */
export type VerifiableEvent = AuditEvent & { stateJson?: string };

function stateMatches(e: VerifiableEvent): boolean {
  if (e.stateJson === undefined) return digest(e.state ?? null) === e.stateDigest;
  if (sha256(e.stateJson) === e.stateDigest) return true;
  // Events stored before states were written canonically: compare the parsed value.
  try {
    return digest(JSON.parse(e.stateJson)) === e.stateDigest;
  } catch {
    return false;
  }
}

/**
 * Recomputes a chain from its first event: numbers run 1, 2, 3..., each event links to the
 * previous hash, its own hash matches its fields and its state matches the chained digest.
 * Stops at the first event that fails and names it; reads the events once, in order.
 */
export async function verifyChain(
  events: AsyncIterable<VerifiableEvent> | Iterable<VerifiableEvent>,
): Promise<VerifyResult> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  for await (const e of events) {
    const fail = (reason: string): VerifyResult => ({ ok: false, count, seq: e.seq, reason });
    if (e.seq !== expectedSeq) {
      return fail(
        e.seq > expectedSeq
          ? `sequence gap: expected ${expectedSeq}`
          : `sequence out of order: expected ${expectedSeq}`,
      );
    }
    if (e.prevHash !== prevHash) return fail("prevHash does not match the previous event's hash");
    if (hashEvent(e) !== e.hash) return fail("hash does not match the event's fields");
    if (!stateMatches(e)) return fail("state does not match its chained digest");
    prevHash = e.hash;
    expectedSeq++;
    count++;
  }
  return { ok: true, count, lastHash: prevHash };
}
