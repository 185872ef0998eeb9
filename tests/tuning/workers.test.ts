import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, systemClock } from "@keel/core";
import {
  defineTuning,
  logUniform,
  TUNING_TAGS,
  TuningController,
  type TuningInput,
  TuningStore,
  trainRunner,
} from "@keel/tuning";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshMetadataStore } from "../helpers/metadata";
import { startTestPlatform } from "../helpers/platform";
import { syntheticData, writeSyntheticParquet } from "../train/synthetic";

let keel: Awaited<ReturnType<typeof startTestPlatform>>;
let db: Awaited<ReturnType<typeof freshMetadataStore>>;
let dir = "";
const data = syntheticData(3000, 4, 5);

beforeAll(async () => {
  keel = await startTestPlatform();
  db = await freshMetadataStore();
  dir = await mkdtemp(join(tmpdir(), "keel-tune-workers-"));
  await writeSyntheticParquet(join(dir, "train.parquet"), data);
});
afterAll(async () => {
  await keel?.close();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const gbdt = (name: string, extra: Partial<TuningInput> = {}) =>
  defineTuning({
    name,
    trainStep: {
      trainingSetUri: join(dir, "train.parquet"),
      label: "y",
      features: data.features,
      params: { maxBins: 32, earlyStoppingRounds: 0, seed: 1 },
      seed: 1,
    },
    parameters: { learningRate: logUniform(0.01, 0.5) },
    objective: { metric: "valid_auc", goal: "maximize" },
    algorithm: "random",
    maxTrials: 6,
    parallelTrials: 4,
    maxRetries: 0,
    seed: 2,
    ...extra,
  });

type Run = {
  info: { run_id: string; status: string };
  data: { tags?: Array<{ key: string; value: string }> };
};
const tag = (r: Run, k: string) => r.data.tags?.find((t) => t.key === k)?.value;

/** The most training windows [start, end] open at one instant. */
function peakOverlap(windows: Array<[number, number]>): number {
  const events = windows.flatMap(([s, e]) => [
    [s, 1],
    [e, -1],
  ]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, d] of events) {
    open += d;
    peak = Math.max(peak, open);
  }
  return peak;
}

describe("built-in trainer trials in worker threads", () => {
  it("trains trials at once on several threads, stops laggards inside their worker, and leaves the server answering", async () => {
    const svc = keel.platform.services.tuning;
    svc.register(
      gbdt("parallel-gbdt", {
        earlyStopping: {
          rule: "asha",
          metric: "valid_logloss",
          goal: "minimize",
          budgetParam: "rounds",
          minBudget: 4,
          maxBudget: 36,
        },
      }),
    );
    const started = await keel.call("POST", "/api/v1/tuning/experiments", { name: "parallel-gbdt" });
    expect(started.status).toBe(202);

    // Once a trial has reported a round (it is training in a worker), the server must still answer.
    let health: { issuedAt: number; answeredAt: number; status: number } | undefined;
    for (;;) {
      const r = await keel.call("GET", "/api/v1/tuning/experiments/parallel-gbdt");
      const training = r.json.trials.some(
        (t: { status: string; curve: unknown[] }) => t.status === "RUNNING" && t.curve.length > 0,
      );
      if (training && !health) {
        const issuedAt = Date.now();
        const h = await keel.call("GET", "/health");
        health = { issuedAt, answeredAt: Date.now(), status: h.status };
      }
      if (r.json.experiment.status !== "RUNNING") break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const { experiment, trials } = (await keel.call("GET", "/api/v1/tuning/experiments/parallel-gbdt")).json;
    expect(experiment.status).toBe("SUCCEEDED");
    expect(trials).toHaveLength(6);

    const search = await keel.call("POST", "/api/2.0/mlflow/runs/search", {
      experiment_ids: [experiment.trackingExperimentId],
      filter: `tags.mlflow.parentRunId = '${experiment.trackingRunId}'`,
      max_results: 100,
    });
    const runs = search.json.runs as Run[];
    expect(runs).toHaveLength(6);
    const windows = runs.map(
      (r) =>
        [Number(tag(r, TUNING_TAGS.trainStarted)), Number(tag(r, TUNING_TAGS.trainEnded))] as [
          number,
          number,
        ],
    );
    for (const [s, e] of windows) expect(e).toBeGreaterThanOrEqual(s);
    // Synchronous training on one thread can never overlap; on worker threads it does, up to the pool size.
    const peak = peakOverlap(windows);
    expect(peak).toBeGreaterThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(4);
    const threads = new Set(runs.map((r) => tag(r, TUNING_TAGS.trainThread)));
    expect(threads.has("0")).toBe(false);
    expect(threads.size).toBeGreaterThanOrEqual(2);

    // The trials ASHA stopped ended inside their worker before the full budget, marked so in their runs.
    const stopped = trials.filter((t: { status: string }) => t.status === "EARLY_STOPPED");
    expect(stopped.length).toBeGreaterThan(0);
    for (const t of stopped) {
      const run = runs.find((r) => r.info.run_id === t.trackingRunId)!;
      expect(run.info.status).toBe("KILLED");
      expect(tag(run, TUNING_TAGS.status)).toBe("EARLY_STOPPED");
      const h = await keel.call(
        "GET",
        `/api/2.0/mlflow/metrics/get-history?run_id=${run.info.run_id}&metric_key=valid_logloss`,
      );
      expect(h.json.metrics.length).toBeGreaterThan(0);
      expect(h.json.metrics.length).toBeLessThan(36);
    }

    // /health, asked while a trial trained, was answered before that trial finished training.
    expect(health?.status).toBe(200);
    const during = windows.filter(([s, e]) => s <= health!.issuedAt && e >= health!.issuedAt);
    expect(during.length).toBeGreaterThan(0);
    expect(during.some(([, e]) => health!.answeredAt < e)).toBe(true);
  });

  it("fails a trial whose trainer throws in its worker, and one whose worker crashes, without hanging", async () => {
    const store = new TuningStore(db.store);
    const controller = new TuningController({
      store,
      clock: systemClock,
      log: createLogger("error"),
      pollMs: 20,
    });
    const bad = gbdt("bad-params", { maxTrials: 2, parallelTrials: 2 });
    const throwing = await controller.run(bad.spec, {
      runner: trainRunner({ ...bad.trainStep!, params: { rounds: 3, maxDepth: -1 } }, { parallelTrials: 2 }),
    });
    expect(throwing.status).toBe("SUCCEEDED");
    const t1 = await store.trials("bad-params");
    expect(t1.map((t) => t.status)).toEqual(["FAILED", "FAILED"]);
    expect(t1[0].error).toMatch(/maxDepth/);

    // A worker whose heap is too small dies (ERR_WORKER_OUT_OF_MEMORY): its trial fails, the run ends.
    const crash = gbdt("worker-crash", { maxTrials: 2, parallelTrials: 1, maxRetries: 1 });
    const crashed = await controller.run(crash.spec, {
      runner: trainRunner(crash.trainStep!, { parallelTrials: 1, workerMemoryMb: 1 }),
    });
    expect(crashed.status).toBe("SUCCEEDED");
    const t2 = await store.trials("worker-crash");
    expect(t2.map((t) => t.status)).toEqual(["FAILED", "FAILED"]);
    expect(t2.map((t) => t.attempts)).toEqual([2, 2]);
    expect(t2[0].error).toMatch(/worker thread (crashed|exited)/);
  });
});
