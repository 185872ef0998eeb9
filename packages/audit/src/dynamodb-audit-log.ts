import { type Clock, currentContext, digest, pad, systemClock } from "@keel/core";
import { isConditionFailed, type Item, type MetadataStore } from "@keel/metadata";
import { GENESIS_HASH, hashEvent } from "./chain";
import type { AuditEvent, AuditEventInput, AuditLog, AuditQuery } from "./port";

export const AUDIT_PK = "AUDIT";
const seqKey = (seq: number) => `E#${pad(seq, 12)}`;

/**
 * The audit log on the MetadataStore. Each event is one item under the AUDIT partition keyed
 * by its zero-padded sequence number. An append reads the last event (strongly consistent),
 * then claims the next number with a put conditional on that key not existing; a loser of
 * that race re-reads and retries, so numbers are gap-free and unique without transactions.
 */
export class StoreAuditLog implements AuditLog {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock = systemClock,
  ) {}

  async append(input: AuditEventInput): Promise<AuditEvent> {
    const ctx = currentContext();
    const stateDigest = digest(input.state ?? null);
    for (let attempt = 0; ; attempt++) {
      const last = await this.last();
      const seq = (last?.seq ?? 0) + 1;
      const base = {
        seq,
        time: Math.max(this.clock.now(), last?.time ?? 0),
        principal: input.principal ?? ctx.principal,
        action: input.action,
        resource: input.resource,
        stateDigest,
        requestId: input.requestId ?? ctx.requestId,
        prevHash: last?.hash ?? GENESIS_HASH,
      };
      const event: AuditEvent = { ...base, hash: hashEvent(base), state: input.state };
      try {
        await this.store.put(toItem(event), { condition: { exists: false } });
        return event;
      } catch (e) {
        if (!isConditionFailed(e) || attempt > 500) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 + attempt * 2)));
      }
    }
  }

  async last(): Promise<AuditEvent | undefined> {
    const page = await this.store.query({ pk: AUDIT_PK, prefix: "E#", descending: true, limit: 1, consistent: true });
    return page.items[0] ? fromItem(page.items[0]) : undefined;
  }

  async list(q: AuditQuery): Promise<{ events: AuditEvent[]; nextPageToken?: string }> {
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const events: AuditEvent[] = [];
    let cursor = q.pageToken;
    const lower = q.from !== undefined ? q.from : undefined;
    do {
      const page = await this.store.query({ pk: AUDIT_PK, prefix: "E#", limit: 500, cursor });
      for (const it of page.items) {
        const e = fromItem(it);
        if (q.resource && e.resource !== q.resource) continue;
        if (q.resourcePrefix && !e.resource.startsWith(q.resourcePrefix)) continue;
        if (q.principal && e.principal !== q.principal) continue;
        if (q.action && e.action !== q.action) continue;
        if (lower !== undefined && e.time < lower) continue;
        if (q.to !== undefined && e.time > q.to) continue;
        events.push(e);
        if (events.length === limit) {
          return { events, nextPageToken: encodeToken(e.seq) };
        }
      }
      cursor = page.cursor;
    } while (cursor);
    return { events };
  }

  /** Reads every event in sequence order, page by page (for verification and export). */
  async *scan(): AsyncGenerator<AuditEvent> {
    let cursor: string | undefined;
    do {
      const page = await this.store.query({ pk: AUDIT_PK, prefix: "E#", limit: 1000, cursor });
      for (const it of page.items) yield fromItem(it);
      cursor = page.cursor;
    } while (cursor);
  }
}

function encodeToken(seq: number): string {
  // A page token is a MetadataStore cursor positioned after `seq`.
  return Buffer.from(JSON.stringify({ pk: AUDIT_PK, sk: seqKey(seq) })).toString("base64url");
}

function toItem(e: AuditEvent): Item {
  return { pk: AUDIT_PK, sk: seqKey(e.seq), ...e, state: e.state === undefined ? undefined : JSON.stringify(e.state) };
}

export function fromItem(it: Item): AuditEvent {
  return {
    seq: Number(it.seq),
    time: Number(it.time),
    principal: String(it.principal),
    action: String(it.action),
    resource: String(it.resource),
    stateDigest: String(it.stateDigest),
    state: typeof it.state === "string" ? JSON.parse(it.state) : undefined,
    requestId: String(it.requestId),
    prevHash: String(it.prevHash),
    hash: String(it.hash),
  };
}
