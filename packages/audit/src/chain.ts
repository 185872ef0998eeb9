import { canonicalJson, sha256 } from "@keel/core";
import type { AuditEvent } from "./port";

export const GENESIS_HASH = "0".repeat(64);

/** The hash of an event: SHA-256 over the canonical JSON of every field but `hash` and `state`. */
export function hashEvent(e: Omit<AuditEvent, "hash" | "state">): string {
  const { seq, time, principal, action, resource, stateDigest, requestId, prevHash } = e;
  return sha256(canonicalJson({ seq, time, principal, action, resource, stateDigest, requestId, prevHash }));
}
