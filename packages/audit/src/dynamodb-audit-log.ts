import { type Clock, canonicalJson, currentContext, pad, sha256, systemClock } from "@keel/core";
import { type Condition, type Item, isConditionFailed, type MetadataStore, type Page } from "@keel/metadata";
import { GENESIS_HASH, hashEvent, type VerifiableEvent, verifyChain } from "./chain";
import { AuditError } from "./errors";
import type { AuditEvent, AuditEventInput, AuditLog, AuditQuery, VerifyResult } from "./port";

export const AUDIT_PK = "AUDIT";
/**
 * Every table partition key of the audit log starts with this (the trail `AUDIT`, the export
 * cursors `AUDIT_EXPORT`). In AWS, IAM `dynamodb:LeadingKeys` conditions match it: functions may
 * only PutItem under `AUDIT` (an append) and never update or delete any such key.
 */
export const AUDIT_PK_PATTERN = `${AUDIT_PK}*`;
const SEQ_WIDTH = 12;
const seqKey = (seq: number) => `E#${pad(seq, SEQ_WIDTH)}`;
const LAST_KEY = `E#${"9".repeat(SEQ_WIDTH)}`;

/**
 * The audit log on the MetadataStore. Each event is one item under the AUDIT partition keyed
 * by its zero-padded sequence number. An append reads the last event (strongly consistent),
 * then claims the next number with a put conditional on that key not existing; a loser of
 * that race re-reads and retries, so numbers are gap-free and unique without transactions.
 *
 * Within one process appends are queued and the last event written is remembered, so
 * concurrent requests in one process never race each other and skip the read. The memory is
 * only a guess: when another process has appended meanwhile, the conditional put fails and
 * the append falls back to reading the last event. (It cannot skip one: seq n+1 is only ever
 * written by a writer that saw seq n, so "n+1 absent" means n is still the last.)
 */
export class StoreAuditLog implements AuditLog {
  private queue: Promise<unknown> = Promise.resolve();
  /** The last event this instance wrote, while no conflict has shown it to be stale. */
  private lastWritten: AuditEvent | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock = systemClock,
  ) {}

  append(input: AuditEventInput): Promise<AuditEvent> {
    const ctx = currentContext();
    const next = this.queue.then(() => this.appendNow(input, ctx));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async appendNow(
    input: AuditEventInput,
    ctx: { principal: string; requestId: string },
  ): Promise<AuditEvent> {
    // The state is stored (toItem) as this very text, so verification hashes it without parsing.
    const stateJson = input.state === undefined ? undefined : canonicalJson(input.state);
    const stateDigest = sha256(stateJson ?? "null");
    for (let attempt = 0; ; attempt++) {
      const last = this.lastWritten ?? (await this.last());
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
        this.lastWritten = event;
        return event;
      } catch (e) {
        this.lastWritten = undefined;
        if (!isConditionFailed(e) || attempt > 500) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 + attempt * 2)));
      }
    }
  }

  /** The event with the highest sequence number (strongly consistent read). */
  async last(): Promise<AuditEvent | undefined> {
    const page = await this.store.query({
      pk: AUDIT_PK,
      prefix: "E#",
      descending: true,
      limit: 1,
      consistent: true,
    });
    return page.items[0] ? fromItem(page.items[0]) : undefined;
  }

  /**
   * Lists through the narrowest place: the resource's or the principal's index partition when
   * the query names one (an index holds only that resource's or principal's events, in
   * sequence order), the whole trail otherwise. Because times never decrease along the chain,
   * the listing stops at the first event after `to` instead of reading to the end.
   */
  async list(q: AuditQuery): Promise<{ events: AuditEvent[]; nextPageToken?: string }> {
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const after = q.pageToken ? decodeToken(q.pageToken) : 0;
    const where =
      q.resource !== undefined
        ? { pk: byResource(q.resource), index: "gsi1" as const }
        : q.principal !== undefined
          ? { pk: byPrincipal(q.principal), index: "gsi2" as const }
          : { pk: AUDIT_PK };
    const range: [string, string] = [seqKey(after + 1), LAST_KEY];
    const filter = storeFilter(q);
    const events: AuditEvent[] = [];
    let cursor: string | undefined;
    do {
      const page: Page = await this.store.query({ ...where, between: range, limit: 1000, cursor, filter });
      for (const it of page.items) {
        const e = fromItem(it);
        if (q.to !== undefined && e.time > q.to) return { events };
        if (q.resourcePrefix && !e.resource.startsWith(q.resourcePrefix)) continue;
        events.push(e);
        if (events.length === limit) return { events, nextPageToken: encodeToken(e.seq) };
      }
      cursor = page.cursor;
    } while (cursor);
    return { events };
  }

  /**
   * Reads every event after `afterSeq` in sequence order. The next page is requested while
   * the caller works through the current one, so verification overlaps I/O with hashing.
   */
  async *scan(afterSeq = 0): AsyncGenerator<AuditEvent> {
    for await (const it of this.items(afterSeq)) yield fromItem(it);
  }

  private async *items(afterSeq: number): AsyncGenerator<Item> {
    const fetchPage = (cursor?: string) => this.store.query({ ...this.range(afterSeq), cursor });
    let next: Promise<Page> | undefined = fetchPage();
    while (next) {
      const page: Page = await next;
      next = page.cursor ? fetchPage(page.cursor) : undefined;
      yield* page.items;
    }
  }

  /** Events for verification, in order, with the state left as its stored text (hashed, not parsed). */
  async *scanForVerify(): AsyncGenerator<VerifiableEvent> {
    for await (const it of this.items(0)) yield verifiable(it);
  }

  /** The events with these sequence numbers (those that exist), in the order given. */
  async *at(seqs: Iterable<number>): AsyncGenerator<AuditEvent> {
    for (const seq of seqs) {
      const it = await this.store.get({ pk: AUDIT_PK, sk: seqKey(seq) });
      if (it) yield fromItem(it);
    }
  }

  verify(): Promise<VerifyResult> {
    return verifyChain(this.scanForVerify());
  }

  private range(afterSeq: number) {
    return { pk: AUDIT_PK, between: [seqKey(afterSeq + 1), LAST_KEY] as [string, string] };
  }
}

function storeFilter(q: AuditQuery): Condition | undefined {
  const parts: Condition[] = [];
  if (q.resource !== undefined) parts.push({ path: "resource", eq: q.resource });
  if (q.principal !== undefined) parts.push({ path: "principal", eq: q.principal });
  if (q.action !== undefined) parts.push({ path: "action", eq: q.action });
  if (q.from !== undefined) parts.push({ path: "time", ge: q.from });
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : { and: parts };
}

function encodeToken(seq: number): string {
  return Buffer.from(JSON.stringify({ after: seq })).toString("base64url");
}

function decodeToken(token: string): number {
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Number.isSafeInteger(v?.after) && v.after >= 0) return v.after;
  } catch {
    // reported below
  }
  throw new AuditError("INVALID_PARAMETER_VALUE", "invalid audit page token");
}

const byResource = (resource: string) => `AUDIT#R#${resource}`;
const byPrincipal = (principal: string) => `AUDIT#P#${principal}`;

/** An event's item: under the trail's partition, and in the resource and principal indexes. */
function toItem(e: AuditEvent): Item {
  return {
    pk: AUDIT_PK,
    sk: seqKey(e.seq),
    gsi1pk: byResource(e.resource),
    gsi1sk: seqKey(e.seq),
    gsi2pk: byPrincipal(e.principal),
    gsi2sk: seqKey(e.seq),
    ...e,
    state: e.state === undefined ? undefined : canonicalJson(e.state),
  };
}

export function fromItem(it: Item): AuditEvent {
  return {
    seq: Number(it.seq),
    time: Number(it.time),
    principal: String(it.principal),
    action: String(it.action),
    resource: String(it.resource),
    stateDigest: String(it.stateDigest),
    state: parseState(it.state),
    requestId: String(it.requestId),
    prevHash: String(it.prevHash),
    hash: String(it.hash),
  };
}

function verifiable(it: Item): VerifiableEvent {
  return {
    ...fromItem({ ...it, state: undefined }),
    stateJson: typeof it.state === "string" ? it.state : undefined,
  };
}

/** A state that no longer parses (an edited item) is kept as its raw text, so verify reports it. */
function parseState(raw: unknown): unknown {
  if (typeof raw !== "string") return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return { unparsableState: raw };
  }
}

/** The item an event is stored as (for tools that write chains in bulk, e.g. the benchmark). */
export function auditItem(e: AuditEvent): Item {
  return toItem(e);
}
