import type { UsageRecord, UsageSummaryRow } from "@keel/contract";
import { type Clock, type Logger, newToken, pad } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { BatchedPuts } from "./batched-puts";
import { type UsageParquetSink, usageToParquet } from "./usage-parquet";

export interface UsageQuery {
  team?: string;
  from?: number;
  to?: number;
  limit?: number;
}

export type { UsageRecord, UsageSummaryRow };

/** A request's id as the gateway answers it (`x-keel-request-id`): its usage record's time and id. */
export function requestIdOf(time: number, id: string): string {
  return `${pad(time, 15)}-${id}`;
}

/** The usage record's time and id in a request id; undefined when it is not one. */
export function parseRequestId(requestId: string): { time: number; id: string } | undefined {
  const m = /^(\d{15})-([A-Za-z0-9_-]{1,64})$/.exec(requestId);
  return m ? { time: Number(m[1]), id: m[2] } : undefined;
}

/**
 * A usage record as stored: `variant` is the A/B variant (deployment) first chosen when another
 * deployment answered (a fallback), so per-variant error rates count it against the variant.
 */
export type StoredUsage = UsageRecord & { variant?: string };

/** A stored usage item's record: a JSON string (`u`), or a map (`usage`) as written before. */
function recordOf(item: Record<string, unknown>): StoredUsage {
  return typeof item.u === "string" ? (JSON.parse(item.u) as StoredUsage) : (item.usage as StoredUsage);
}

const ZERO = {
  requests: 0,
  errors: 0,
  cacheHits: 0,
  tokensIn: 0,
  tokensOut: 0,
  cost: 0,
  avgLatencyMs: 0,
  ttftN: 0,
  ttftSum: 0,
  latSum: 0,
};

export interface UsageLogOptions {
  /** Records written per batch (a flush starts as soon as this many wait). */
  batchSize?: number;
  /** The oldest waiting record is written within this long. */
  maxAgeMs?: number;
  /** Records held at most; past it the oldest are dropped (and counted) rather than growing. */
  maxBuffered?: number;
  /** The Parquet copy for analysis (files by date in the artifact store); none when absent. */
  parquet?: UsageParquetSink;
}

/**
 * The usage log: one item per request under the team's partition (time-ordered) and in an
 * index across teams. Records are buffered and written in batches (by size and age, never on
 * the answer's path); `flush()` writes what waits (readers call it, so a process reads its own
 * writes; the module's stop calls it).
 */
export class UsageLog {
  private readonly puts: BatchedPuts;
  readonly parquet?: UsageParquetSink;
  /** Record ids: random per process, then a counter (no random bytes per request). */
  private readonly idPrefix = newToken(8);
  private seq = 0;
  /** Records dropped because the buffer was full (the store could not keep up). */
  get dropped(): number {
    return this.puts.dropped;
  }

  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    log?: Logger,
    opts: UsageLogOptions = {},
  ) {
    const batching = {
      batchSize: opts.batchSize ?? 100,
      maxAgeMs: opts.maxAgeMs ?? 200,
      maxBuffered: opts.maxBuffered ?? 10_000,
      what: "llm usage",
    };
    this.puts = new BatchedPuts(store, batching, log);
    this.parquet = opts.parquet;
  }

  /** A new record id (the gateway takes one at admission, to answer the request id before the record is written). */
  newId(): string {
    return `${this.idPrefix}${(this.seq++).toString(36)}`;
  }

  record(r: Omit<StoredUsage, "id" | "time"> & Partial<Pick<UsageRecord, "id" | "time">>): StoredUsage {
    const rec: StoredUsage = { ...r, id: r.id ?? this.newId(), time: r.time ?? this.clock.now() };
    const time = rec.time;
    const sk = `${pad(time, 15)}#${rec.id}`;
    // The record as one JSON string attribute: marshalling a 20-field map per request (and the
    // store parsing it) was a large share of the gateway's CPU; nothing queries inside it.
    this.puts.add({
      pk: `llm#usage#${rec.team}`,
      sk,
      gsi1pk: "llm#usage",
      gsi1sk: sk,
      u: JSON.stringify(rec),
    });
    this.parquet?.add(rec);
    return rec;
  }

  /** Writes everything buffered and waits for every write in flight. */
  flush(): Promise<void> {
    return this.puts.flush();
  }

  async query(q: UsageQuery): Promise<StoredUsage[]> {
    return this.read(q, Math.min(q.limit ?? 1000, 10_000));
  }

  /** A time range of the log as one Parquet file (oldest first; at most 1,000,000 records). */
  async exportParquet(q: Omit<UsageQuery, "limit">): Promise<{ bytes: Uint8Array; records: number }> {
    const records = (await this.read(q, 1_000_000)).reverse();
    return { bytes: usageToParquet(records), records: records.length };
  }

  private async read(q: UsageQuery, limit: number): Promise<StoredUsage[]> {
    await this.flush();
    const between: [string, string] = [pad(q.from ?? 0, 15), `${pad(q.to ?? 999_999_999_999_999, 15)}~`];
    const items = q.team
      ? await this.store.queryAll({ pk: `llm#usage#${q.team}`, between, descending: true, limit })
      : await this.store.queryAll({ pk: "llm#usage", index: "gsi1", between, descending: true, limit });
    return items.slice(0, limit).map(recordOf);
  }

  /** One team's record by request id (undefined when that team made no such request). */
  async find(team: string, requestId: string): Promise<UsageRecord | undefined> {
    const ref = parseRequestId(requestId);
    if (!ref) return undefined;
    await this.flush();
    const item = await this.store.get({ pk: `llm#usage#${team}`, sk: `${pad(ref.time, 15)}#${ref.id}` });
    return item ? recordOf(item) : undefined;
  }

  async summary(q: UsageQuery): Promise<UsageSummaryRow[]> {
    const rows = new Map<string, UsageSummaryRow & { ttftN: number; ttftSum: number; latSum: number }>();
    for (const r of await this.query({ ...q, limit: 10_000 })) {
      const k = `${r.team}\u0000${r.model}`;
      let row = rows.get(k);
      if (!row) {
        row = { team: r.team, model: r.model, ...ZERO };
        rows.set(k, row);
      }
      row.requests++;
      if (r.status >= 400) row.errors++;
      if (r.cacheHit) row.cacheHits++;
      row.tokensIn += r.tokensIn;
      row.tokensOut += r.tokensOut;
      row.cost += r.cost;
      row.latSum += r.latencyMs;
      if (r.ttftMs !== undefined) {
        row.ttftN++;
        row.ttftSum += r.ttftMs;
      }
    }
    return [...rows.values()].map(({ ttftN, ttftSum, latSum, ...row }) => ({
      ...row,
      cost: Math.round(row.cost * 1e8) / 1e8,
      avgLatencyMs: row.requests ? latSum / row.requests : 0,
      ...(ttftN ? { avgTtftMs: ttftSum / ttftN } : {}),
    }));
  }
}
