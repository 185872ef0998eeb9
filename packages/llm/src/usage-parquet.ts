import type { ArtifactStore } from "@keel/artifacts";
import type { UsageRecord } from "@keel/contract";
import type { Logger } from "@keel/core";
import { parquetWriteBuffer } from "hyparquet-writer";

/**
 * The usage log's columns in Parquet: numbers and identifiers only. No prompt or answer text
 * ever reaches a usage record (redactions are counts by kind), so none reaches these files.
 */
export function usageToParquet(records: UsageRecord[]): Uint8Array {
  const col = <T>(name: string, type: string, f: (r: UsageRecord) => T) => ({
    name,
    type,
    data: records.map(f),
  });
  const buf = parquetWriteBuffer({
    columnData: [
      col("id", "STRING", (r) => r.id),
      col("time", "TIMESTAMP", (r) => new Date(r.time)),
      col("date", "STRING", (r) => isoDate(r.time)),
      col("team", "STRING", (r) => r.team),
      col("key", "STRING", (r) => r.key ?? null),
      col("principal", "STRING", (r) => r.principal),
      col("model", "STRING", (r) => r.model),
      col("deployment", "STRING", (r) => r.deployment ?? null),
      col("tokens_in", "INT32", (r) => r.tokensIn),
      col("tokens_out", "INT32", (r) => r.tokensOut),
      col("cost_usd", "DOUBLE", (r) => r.cost),
      col("latency_ms", "DOUBLE", (r) => r.latencyMs),
      col("ttft_ms", "DOUBLE", (r) => r.ttftMs ?? null),
      col("cache_hit", "BOOLEAN", (r) => r.cacheHit),
      col("status", "INT32", (r) => r.status),
      col("stream", "BOOLEAN", (r) => r.stream),
      col("fallbacks", "INT32", (r) => r.fallbacks),
      col("token_source", "STRING", (r) => r.tokenSource),
      col("redactions", "STRING", (r) => JSON.stringify(r.redactions)),
    ] as Parameters<typeof parquetWriteBuffer>[0]["columnData"],
  });
  return new Uint8Array(buf);
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export interface UsageParquetOptions {
  /** Folder in the artifact store (default `llm/usage`): files land in `<prefix>/date=YYYY-MM-DD/part-*.parquet`. */
  prefix?: string;
  /** A file is written as soon as this many records wait (default 5,000). */
  batchSize?: number;
  /** The oldest waiting record is written within this long (default one hour: hourly files). */
  maxAgeMs?: number;
  /** Records held at most; past it the oldest are dropped (and counted). */
  maxBuffered?: number;
}

/**
 * The usage log's Parquet copy for analysis (DuckDB, Athena): records are buffered (bounded)
 * and written as one file per date per flush, by size or age, never on a request's path.
 * Hive-style `date=` partitions let a query read only the days it asks for.
 */
export class UsageParquetSink {
  private buffer: UsageRecord[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private readonly writing = new Set<Promise<void>>();
  private readonly prefix: string;
  private readonly batchSize: number;
  private readonly maxAgeMs: number;
  private readonly maxBuffered: number;
  private readonly proc = Math.random().toString(36).slice(2, 10);
  private seq = 0;
  /** When the oldest buffered row was added (Date.now()). */
  private oldestAt = 0;
  dropped = 0;

  constructor(
    private readonly artifacts: ArtifactStore,
    opts: UsageParquetOptions = {},
    private readonly log?: Logger,
  ) {
    this.prefix = (opts.prefix ?? "llm/usage").replace(/\/+$/, "");
    this.batchSize = opts.batchSize ?? 5000;
    this.maxAgeMs = opts.maxAgeMs ?? 3_600_000;
    this.maxBuffered = opts.maxBuffered ?? 100_000;
  }

  add(rec: UsageRecord): void {
    if (this.buffer.length >= this.maxBuffered) {
      this.buffer.shift();
      this.dropped++;
    }
    if (!this.buffer.length) this.oldestAt = Date.now();
    this.buffer.push(rec);
    if (this.buffer.length >= this.batchSize) this.write();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.write(), this.maxAgeMs);
      this.timer.unref?.();
    }
  }

  /** Writes what waits and waits for every write in flight. */
  async flush(): Promise<void> {
    this.write();
    while (this.writing.size) await Promise.all([...this.writing]);
  }

  /** Writes what waits when its oldest row was buffered more than `ms` ago, and waits for writes in flight. */
  async flushOlderThan(ms: number): Promise<void> {
    if (this.buffer.length && Date.now() - this.oldestAt > ms) this.write();
    while (this.writing.size) await Promise.all([...this.writing]);
  }

  /** The files holding a date range (by partition), oldest first. */
  async files(from: number, to: number): Promise<string[]> {
    const out: string[] = [];
    const first = isoDate(from);
    const last = isoDate(to);
    for (const d of await this.artifacts.list(this.prefix)) {
      const date = d.path.split("date=")[1];
      if (!d.isDir || !date || date < first || date > last) continue;
      for (const f of await this.artifacts.list(d.path)) if (f.path.endsWith(".parquet")) out.push(f.path);
    }
    return out;
  }

  private write(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buffer.length) return;
    const records = this.buffer;
    this.buffer = [];
    const byDate = new Map<string, UsageRecord[]>();
    for (const r of records) {
      const d = isoDate(r.time);
      const list = byDate.get(d);
      if (list) list.push(r);
      else byDate.set(d, [r]);
    }
    for (const [date, rows] of byDate) {
      const stamp = new Date(rows[0].time).toISOString().replace(/[-:.]/g, "").slice(0, 15);
      const path = `${this.prefix}/date=${date}/part-${stamp}-${this.proc}-${(this.seq++).toString(36)}.parquet`;
      const p: Promise<void> = this.artifacts
        .put(path, usageToParquet(rows), { contentType: "application/vnd.apache.parquet" })
        .catch((e) => this.log?.warn?.("llm usage parquet write failed", { error: String(e), path }))
        .finally(() => this.writing.delete(p));
      this.writing.add(p);
    }
  }
}
