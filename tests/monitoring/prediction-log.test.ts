import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore } from "@keel/artifacts";
import { createLogger } from "@keel/core";
import { ParquetPredictionLog, type PredictionLogEntryInput } from "@keel/monitoring";
import { parquetReadObjects } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 27, 23, 59, 0);

const entry = (i: number, over: Partial<PredictionLogEntryInput> = {}): PredictionLogEntryInput => ({
  deployment: "fraud",
  model: "fraud-model",
  version: 3,
  requestId: `r${i}`,
  time: T0 + i * 30_000,
  latencyMs: 1.5 + i,
  inputs: { features: [[i, i * 2, -i]] },
  outputs: { score: [[0.1 * (i % 10)]] },
  ...over,
});

describe("Parquet prediction log", () => {
  let dir = "";
  let artifacts: FsArtifactStore;
  const log = createLogger("silent");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "keel-predlog-"));
    artifacts = new FsArtifactStore(dir);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("round-trips entries through Parquet files partitioned by deployment and date", async () => {
    const sink = new ParquetPredictionLog(artifacts, log, { maxRows: 1000, prefix: "p1" });
    for (let i = 0; i < 6; i++)
      sink.record(entry(i, i === 1 ? { explanation: { base: -2, contributions: [0.5, -0.1, 0] } } : {}));
    sink.record(entry(0, { deployment: "other", requestId: "x" }));
    await sink.stop();
    // 23:59:00 and 23:59:30 fall on the 27th, the rest on the 28th.
    const days = (await artifacts.list("p1/deployment=fraud")).map((d) => d.path);
    expect(days).toEqual(["p1/deployment=fraud/date=2026-11-27", "p1/deployment=fraud/date=2026-11-28"]);
    expect((await sink.deployments()).sort()).toEqual(["fraud", "other"]);

    const all = await sink.read("fraud", T0 - DAY, T0 + DAY);
    expect(all.map((e) => e.requestId)).toEqual(["r0", "r1", "r2", "r3", "r4", "r5"]);
    expect(all[1]).toEqual({
      ...entry(1),
      version: "3",
      explanation: { base: -2, contributions: [0.5, -0.1, 0] },
    });
    expect(all[0].explanation).toBeUndefined();
    // A window reads only what falls inside it.
    expect((await sink.read("fraud", T0 + 60_000, T0 + 120_000)).map((e) => e.requestId)).toEqual([
      "r2",
      "r3",
    ]);

    // The files are plain Parquet that other readers (DuckDB, Athena) see as columns.
    const file = (await artifacts.list("p1/deployment=fraud/date=2026-11-28"))[0].path;
    const bytes = await artifacts.getBytes(file);
    const rows = await parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    });
    expect(Object.keys(rows[0])).toEqual([
      "deployment",
      "model",
      "version",
      "request_id",
      "time",
      "latency_ms",
      "inputs",
      "outputs",
      "explanation",
      "pii",
    ]);
  });

  it("flushes when the buffer reaches maxRows", async () => {
    const sink = new ParquetPredictionLog(artifacts, log, {
      maxRows: 3,
      flushIntervalMs: 3_600_000,
      prefix: "p2",
    });
    for (let i = 0; i < 3; i++) sink.record(entry(i + 2));
    await sink.flush();
    expect(await sink.read("fraud", T0, T0 + DAY)).toHaveLength(3);
    await sink.stop();
    expect(() => sink.record(entry(9))).toThrow(/stopped/);
  });

  it("keeps rows with missing or non-finite values, stored as null", async () => {
    const sink = new ParquetPredictionLog(artifacts, log, { prefix: "p4" });
    sink.record(entry(1, { inputs: { features: [[1, null, Number.NaN, Number.POSITIVE_INFINITY]] } }));
    await sink.stop();
    expect((await sink.read("fraud", T0, T0 + DAY))[0].inputs).toEqual({ features: [[1, null, null, null]] });
  });

  it("rejects malformed entries and unsafe deployment names", () => {
    const sink = new ParquetPredictionLog(artifacts, log, { prefix: "p3" });
    expect(() => sink.record(entry(1, { deployment: "../etc" }))).toThrow(/deployment/);
    expect(() =>
      sink.record({ ...entry(1), inputs: { features: [[1, "x"]] } } as unknown as PredictionLogEntryInput),
    ).toThrow(/inputs/);
    return sink.stop();
  });

  it("holds at most maxBuffered entries in memory, dropping the oldest with a count and a log line", async () => {
    const errors: Array<Record<string, unknown> | undefined> = [];
    const capture = {
      ...log,
      error: (_: string, fields?: Record<string, unknown>) => void errors.push(fields),
    };
    const sink = new ParquetPredictionLog(artifacts, capture, {
      maxRows: 1000,
      maxBuffered: 10,
      flushIntervalMs: 3_600_000,
      prefix: "p5",
    });
    for (let i = 0; i < 25; i++) {
      sink.record(entry(i));
      expect(sink.buffered).toBeLessThanOrEqual(10);
    }
    expect(sink.dropped).toBe(15);
    await sink.stop();
    expect(errors).toEqual([{ dropped: 15, droppedTotal: 15, maxBuffered: 10 }]);
    const kept = await sink.read("fraud", T0 - DAY, T0 + DAY);
    expect(kept.map((e) => e.requestId)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i + 15}`));
  });
});
