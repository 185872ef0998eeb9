/**
 * The audit log: append-only, hash-chained. Every state change in Keel appends one event.
 * There is no update or delete. Sequence numbers start at 1 and have no gaps or duplicates,
 * also under concurrent appends; `hash = sha256(canonical event without hash)` and
 * `prevHash` is the previous event's hash ("0"*64 for the first).
 */
export interface AuditEventInput {
  /** Dotted verb, e.g. "tracking.run.create", "registry.version.transition". */
  action: string;
  /** What changed, e.g. "run:<id>", "model:<name>/version:<n>". */
  resource: string;
  /** The new state (or the change); only its digest is chained, the value is kept for readers. */
  state?: unknown;
  /** Defaults to the request context's principal and request id. */
  principal?: string;
  requestId?: string;
}

export interface AuditEvent {
  seq: number;
  time: number;
  principal: string;
  action: string;
  resource: string;
  stateDigest: string;
  state?: unknown;
  requestId: string;
  prevHash: string;
  hash: string;
}

export interface AuditQuery {
  resource?: string;
  /** Prefix match on resource, e.g. "model:fraud/" */
  resourcePrefix?: string;
  principal?: string;
  action?: string;
  /** Inclusive lower bound on `time` (ms since the epoch). */
  from?: number;
  /** Inclusive upper bound on `time` (ms since the epoch). */
  to?: number;
  limit?: number;
  pageToken?: string;
}

/**
 * The outcome of recomputing the chain: every event checked, or the first one that fails, or
 * (a sound chain) the protected state items whose change has no audit event.
 */
export type VerifyResult =
  | {
      ok: true;
      count: number;
      lastHash: string;
      /** Announced changes whose write failed: events of intended changes that were never applied. */
      notApplied?: Array<{ seq: number; action: string; resource: string }>;
    }
  | { ok: false; count: number; seq: number; reason: string }
  | { ok: false; count: number; lastHash: string; reason: string; stateWithoutEvent: string[] };

export interface AuditLog {
  /** Appends an event and returns it with its sequence number and hash. */
  append(input: AuditEventInput): Promise<AuditEvent>;
  /**
   * Lists events in sequence order with filters (all given filters must hold). At most
   * `limit` events (default 100, at most 1000); `nextPageToken` is present when more may follow.
   */
  list(query: AuditQuery): Promise<{ events: AuditEvent[]; nextPageToken?: string }>;
  /** Yields every event with `seq > afterSeq` (default 0) in sequence order. */
  scan(afterSeq?: number): AsyncGenerator<AuditEvent>;
  /** The events with these sequence numbers (those that exist), in the order given. */
  at(seqs: Iterable<number>): AsyncGenerator<AuditEvent>;
  /** Recomputes the whole chain: seq continuity, prevHash links, each hash and state digest. */
  verify(): Promise<VerifyResult>;
}
