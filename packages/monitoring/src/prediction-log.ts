import type { ArtifactStore } from "@keel/artifacts";
import { type Logger, newToken, pad, parseWith } from "@keel/core";
import { parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { z } from "zod";
import { MonitoringError } from "./errors";
import { loadPiiKey, type PiiKeySource, piiSpecSchema, protectInputs } from "./pii";

/** Deployment names become path segments of the log's partitions, so they are kept plain. */
export const deploymentNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "deployment names are letters, digits, '.', '_' or '-'");

/**
 * Tensor cells: numbers, with null (or a non-finite number, stored as null) for a value that
 * is missing, e.g. an online feature that was not found. The log keeps such rows rather than
 * dropping the whole request.
 */
const cellSchema = z
  .custom<number | null>((v) => v === null || typeof v === "number", "tensor values must be numbers or null")
  .transform((v) => (typeof v === "number" && Number.isFinite(v) ? v : null));
const tensorsSchema = z.record(z.string(), z.array(z.array(cellSchema)));

export const predictionLogEntrySchema = z.object({
  deployment: deploymentNameSchema,
  model: z.string().min(1),
  version: z.union([z.string(), z.number()]).transform(String),
  requestId: z.string().min(1),
  /** Milliseconds since the epoch when the request was answered. */
  time: z.number().int().nonnegative(),
  latencyMs: z.number().nonnegative(),
  /** Input tensors by name, each as rows ([N, width]). */
  inputs: tensorsSchema,
  outputs: tensorsSchema,
  /** Whatever explanation was returned with the prediction (kept so a decision can be explained later). */
  explanation: z.unknown().optional(),
  /** Personal-data inputs (the deployment's `pii` plus features tagged `pii`): pseudonymized or dropped before storage. */
  pii: piiSpecSchema.optional(),
  /** Column (feature) names of input tensors built from the feature store, so `pii` can name single features. */
  columns: z.record(z.string(), z.array(z.string())).optional(),
});
export type PredictionLogEntry = z.output<typeof predictionLogEntrySchema>;
export type PredictionLogEntryInput = z.input<typeof predictionLogEntrySchema>;

/** Where the serving side hands every answered request. */
export interface PredictionSink {
  /**
   * Accepts one entry without waiting for storage (entries are buffered and written in
   * batches). Throws INVALID_PARAMETER_VALUE for a malformed entry; never throws for storage
   * problems, which are retried on the next flush.
   */
  record(entry: PredictionLogEntryInput): void;
}

export interface PredictionLogOptions {
  /** Buffered entries that trigger a write (default 1000). */
  maxRows?: number;
  /** Longest time an entry waits in the buffer (default 5 s). */
  flushIntervalMs?: number;
  /**
   * Entries held in memory at most (waiting for a flush, or kept while storage fails); beyond
   * it the oldest are dropped, counted in `dropped` and logged (default 100,000).
   */
  maxBuffered?: number;
  /** Key prefix in the artifact store (default "predictions"; "" when the store is dedicated to the log). */
  prefix?: string;
  /** A store of its own for the log (e.g. on KEEL_PREDICTION_LOG_ROOT); default: the platform's ArtifactStore. */
  store?: ArtifactStore;
  /** The HMAC key for pseudonymized inputs (loaded once, on the first entry that needs it). */
  piiKey?: PiiKeySource;
}

const DAY_MS = 86_400_000;

/**
 * The prediction log as Parquet files in an ArtifactStore (a directory locally, an S3 prefix
 * in AWS), Hive-partitioned so Athena/DuckDB can prune by partition:
 * `predictions/deployment=<d>/date=<YYYY-MM-DD>/<first time>-<token>.parquet`.
 * Columns: deployment, model, version, request_id, time (TIMESTAMP_MILLIS), latency_ms,
 * and inputs / outputs / explanation as JSON text.
 */
export class ParquetPredictionLog implements PredictionSink {
  private buffer: PredictionLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly maxRows: number;
  private readonly maxBuffered: number;
  private readonly prefix: string;
  private readonly piiKey?: PiiKeySource;
  private key?: Promise<Buffer>;
  private stopped = false;
  private droppedTotal = 0;
  /** Dropped since the last log line: drops are logged once per flush, not once per entry. */
  private droppedUnlogged = 0;

  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly log: Logger,
    opts: PredictionLogOptions = {},
  ) {
    this.maxRows = opts.maxRows ?? 1000;
    this.maxBuffered = opts.maxBuffered ?? 100_000;
    this.prefix = (opts.prefix ?? "predictions").replace(/\/+$/, "");
    this.piiKey = opts.piiKey;
    const interval = opts.flushIntervalMs ?? 5000;
    this.timer = setInterval(() => void this.flush().catch(() => undefined), interval);
    this.timer.unref();
  }

  record(entry: PredictionLogEntryInput): void {
    if (this.stopped) throw new MonitoringError("INVALID_STATE", "the prediction log is stopped");
    this.buffer.push(parseWith(predictionLogEntrySchema, entry, "prediction log entry"));
    this.trim();
    if (this.buffer.length >= this.maxRows) void this.flush().catch(() => undefined);
  }

  /** Entries dropped because the buffer was full (storage slower than traffic, or failing). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Entries waiting in memory for a flush. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Drops the oldest entries beyond `maxBuffered`. */
  private trim(): void {
    const over = this.buffer.length - this.maxBuffered;
    if (over <= 0) return;
    this.buffer.splice(0, over);
    this.droppedTotal += over;
    this.droppedUnlogged += over;
  }

  private logDrops(): void {
    if (this.droppedUnlogged === 0) return;
    this.log.error("prediction log buffer full; oldest entries dropped", {
      dropped: this.droppedUnlogged,
      droppedTotal: this.droppedTotal,
      maxBuffered: this.maxBuffered,
    });
    this.droppedUnlogged = 0;
  }

  /** Writes everything buffered so far; resolves once it is stored (or has failed and been re-queued). */
  flush(): Promise<void> {
    // Flushes run one at a time, so files never interleave and a failure re-queues in order.
    const run = this.writing.then(() => this.writeBuffered());
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Pseudonymizes or drops tagged inputs; without a key source, tagged inputs are dropped (never stored raw). */
  private async protect(batch: PredictionLogEntry[]): Promise<PredictionLogEntry[]> {
    if (!batch.some((e) => e.pii && e.pii.fields.length > 0)) return batch;
    let key: Buffer | undefined;
    if (this.piiKey) {
      this.key ??= loadPiiKey(this.piiKey);
      key = await this.key.catch((e) => {
        this.key = undefined;
        throw e;
      });
    }
    return batch.map(({ columns, ...e }) =>
      e.pii && e.pii.fields.length > 0
        ? {
            ...e,
            inputs: protectInputs(e.inputs, key ? e.pii : { ...e.pii, mode: "drop" }, key, columns),
            pii: key ? e.pii : { ...e.pii, mode: "drop" },
          }
        : e,
    );
  }

  private async writeBuffered(): Promise<void> {
    this.logDrops();
    if (this.buffer.length === 0) return;
    const taken = this.buffer;
    this.buffer = [];
    let batch: PredictionLogEntry[];
    try {
      batch = await this.protect(taken);
    } catch (e) {
      this.log.warn("prediction log key unavailable; entries kept for the next flush", {
        err: (e as Error).message,
      });
      this.buffer = [...taken, ...this.buffer];
      this.trim();
      this.logDrops();
      return;
    }
    const groups = new Map<string, PredictionLogEntry[]>();
    for (const e of batch) {
      const key = `${e.deployment}\0${isoDate(e.time)}`;
      const group = groups.get(key);
      if (group) group.push(e);
      else groups.set(key, [e]);
    }
    for (const [key, entries] of groups) {
      const [deployment, date] = key.split("\0");
      const first = Math.min(...entries.map((e) => e.time));
      const path = `${this.partition(deployment)}/date=${date}/${pad(first, 15)}-${newToken(6)}.parquet`;
      try {
        await this.artifacts.put(path, encodeEntries(entries), {
          contentType: "application/vnd.apache.parquet",
        });
      } catch (e) {
        this.log.warn("prediction log write failed; entries kept for the next flush", {
          path,
          rows: entries.length,
          err: (e as Error).message,
        });
        this.buffer = [...entries, ...this.buffer];
        this.trim();
        this.logDrops();
      }
    }
  }

  /**
   * Entries of a deployment answered in [from, to) (ms), oldest first. Only the date
   * partitions the window touches are read.
   */
  async read(deployment: string, from: number, to: number): Promise<PredictionLogEntry[]> {
    parseWith(deploymentNameSchema, deployment, "deployment");
    const out: PredictionLogEntry[] = [];
    const dates = await this.artifacts.list(this.partition(deployment));
    for (const d of dates) {
      const date = d.path.split("date=")[1];
      if (!d.isDir || !date) continue;
      const dayStart = Date.parse(`${date}T00:00:00Z`);
      if (dayStart + DAY_MS <= from || dayStart >= to) continue;
      for (const f of await this.artifacts.list(d.path)) {
        if (f.isDir || !f.path.endsWith(".parquet")) continue;
        const bytes = await this.artifacts.getBytes(f.path);
        for (const e of await decodeEntries(bytes)) if (e.time >= from && e.time < to) out.push(e);
      }
    }
    return out.sort((a, b) => a.time - b.time);
  }

  /**
   * Deletes the date partitions older than each deployment's retention (days; `retentionOf`
   * answers undefined for the default). Returns the partitions deleted. Run at start locally;
   * in AWS the bucket's lifecycle rule on the prefix is the hard upper bound.
   */
  async sweep(
    retentionOf: (deployment: string) => Promise<number | undefined>,
    defaultDays: number,
    now = Date.now(),
  ): Promise<string[]> {
    const deleted: string[] = [];
    for (const deployment of await this.deployments()) {
      const days = (await retentionOf(deployment).catch(() => undefined)) ?? defaultDays;
      const cutoff = now - days * DAY_MS;
      for (const d of await this.artifacts.list(this.partition(deployment))) {
        const date = d.path.split("date=")[1];
        if (!d.isDir || !date) continue;
        if (Date.parse(`${date}T00:00:00Z`) + DAY_MS <= cutoff) {
          await this.artifacts.delete(d.path);
          deleted.push(d.path);
        }
      }
    }
    return deleted;
  }

  /** Deployments that have any logged predictions. */
  async deployments(): Promise<string[]> {
    const dirs = await this.artifacts.list(this.prefix);
    return dirs
      .filter((d) => d.isDir && d.path.includes("deployment="))
      .map((d) => d.path.split("deployment=")[1]);
  }

  private partition(deployment: string): string {
    return `${this.prefix ? `${this.prefix}/` : ""}deployment=${deployment}`;
  }
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function encodeEntries(entries: PredictionLogEntry[]): Uint8Array {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: "deployment", data: entries.map((e) => e.deployment), type: "STRING" },
      { name: "model", data: entries.map((e) => e.model), type: "STRING" },
      { name: "version", data: entries.map((e) => e.version), type: "STRING" },
      { name: "request_id", data: entries.map((e) => e.requestId), type: "STRING" },
      { name: "time", data: entries.map((e) => new Date(e.time)), type: "TIMESTAMP" },
      { name: "latency_ms", data: entries.map((e) => e.latencyMs), type: "DOUBLE" },
      { name: "inputs", data: entries.map((e) => JSON.stringify(e.inputs)), type: "STRING" },
      { name: "outputs", data: entries.map((e) => JSON.stringify(e.outputs)), type: "STRING" },
      {
        name: "explanation",
        data: entries.map((e) => (e.explanation === undefined ? null : JSON.stringify(e.explanation))),
        type: "STRING",
      },
      { name: "pii", data: entries.map((e) => (e.pii ? JSON.stringify(e.pii) : null)), type: "STRING" },
    ],
  });
  return new Uint8Array(buf);
}

async function decodeEntries(bytes: Buffer): Promise<PredictionLogEntry[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = await parquetReadObjects({ file });
  return rows.map((r) => ({
    deployment: r.deployment,
    model: r.model,
    version: r.version,
    requestId: r.request_id,
    time: r.time instanceof Date ? r.time.getTime() : Number(r.time),
    latencyMs: r.latency_ms,
    inputs: JSON.parse(r.inputs),
    outputs: JSON.parse(r.outputs),
    ...(r.explanation === null || r.explanation === undefined
      ? {}
      : { explanation: JSON.parse(r.explanation) }),
    ...(r.pii === null || r.pii === undefined ? {} : { pii: JSON.parse(r.pii) }),
  }));
}
