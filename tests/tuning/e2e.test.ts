import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { definePipeline } from "@keel/pipelines";
import { branin, defineTuning, intRange, logUniform, SUMMARY_ARTIFACT, uniform } from "@keel/tuning";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startTestPlatform } from "../helpers/platform";
import { syntheticData, writeSyntheticParquet } from "../train/synthetic";

let keel: Awaited<ReturnType<typeof startTestPlatform>>;
let dir = "";
const data = syntheticData(1500, 4, 11);

beforeAll(async () => {
  keel = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), "keel-tune-"));
  await writeSyntheticParquet(join(dir, "train.parquet"), data, "is_fraud");
});
afterAll(async () => {
  await keel?.close();
  await rm(dir, { recursive: true, force: true });
});

const API = "/api/v1/tuning";

async function waitFor(name: string) {
  for (let i = 0; i < 600; i++) {
    const r = await keel.call("GET", `${API}/experiments/${name}`);
    if (r.json?.experiment?.status !== "RUNNING") return r.json;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`tuning ${name} did not finish`);
}

describe("tuning the built-in GBDT end to end", () => {
  it("runs TPE + ASHA trials 4 at a time as nested tracking runs, summarizes, and registers the best model", async () => {
    keel.platform.services.tuning.register(
      defineTuning({
        name: "gbdt-small",
        trainStep: {
          trainingSetUri: join(dir, "train.parquet"),
          label: "is_fraud",
          features: data.features,
          params: { maxBins: 32, earlyStoppingRounds: 0, seed: 1 },
          seed: 1,
        },
        parameters: {
          learningRate: logUniform(0.01, 0.5),
          maxDepth: intRange(2, 6),
          subsample: uniform(0.5, 1),
        },
        objective: { metric: "valid_auc", goal: "maximize" },
        algorithm: { name: "tpe", startupTrials: 4 },
        earlyStopping: {
          rule: "asha",
          metric: "valid_logloss",
          goal: "minimize",
          budgetParam: "rounds",
          minBudget: 3,
          maxBudget: 27,
        },
        maxTrials: 10,
        parallelTrials: 4,
        seed: 3,
        register: { model: "tuned-gbdt", promoteTo: "Production" },
      }),
    );
    const defs = await keel.call("GET", `${API}/definitions`);
    expect(defs.json.tunings.map((t: { name: string }) => t.name)).toContain("gbdt-small");

    const started = await keel.call("POST", `${API}/experiments`, { name: "gbdt-small" });
    expect(started.status).toBe(202);
    expect(started.json.experiment.status).toBe("RUNNING");
    const again = await keel.call("POST", `${API}/experiments`, { name: "gbdt-small" });
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);

    const { experiment, trials } = await waitFor("gbdt-small");
    expect(experiment.status).toBe("SUCCEEDED");
    expect(trials).toHaveLength(10);
    const stopped = trials.filter((t: { status: string }) => t.status === "EARLY_STOPPED");
    const completed = trials.filter((t: { status: string }) => t.status === "COMPLETED");
    expect(stopped.length).toBeGreaterThan(0);
    expect(completed.length).toBeGreaterThan(0);
    for (const t of stopped) expect([3, 9]).toContain(t.stoppedAt);
    for (const t of completed) expect(t.curve.at(-1)[0]).toBe(27);
    const bestAuc = Math.max(...completed.map((t: { value: number }) => t.value));
    expect(experiment.best.value).toBe(bestAuc);
    expect(bestAuc).toBeGreaterThan(0.8);

    // Every trial is a nested run under the tuning run, visible to runs/search.
    const parent = experiment.trackingRunId as string;
    const search = await keel.call("POST", "/api/2.0/mlflow/runs/search", {
      experiment_ids: [experiment.trackingExperimentId],
      filter: `tags.mlflow.parentRunId = '${parent}'`,
      max_results: 100,
    });
    expect(search.status).toBe(200);
    const runs = search.json.runs as Array<{
      info: { run_id: string; status: string };
      data: {
        tags?: Array<{ key: string; value: string }>;
        params?: Array<{ key: string }>;
        metrics?: Array<{ key: string }>;
      };
    }>;
    expect(runs).toHaveLength(10);
    const tag = (r: (typeof runs)[number], k: string) => r.data.tags?.find((t) => t.key === k)?.value;
    const stoppedRuns = runs.filter((r) => tag(r, "keel.tuning.status") === "EARLY_STOPPED");
    expect(stoppedRuns).toHaveLength(stopped.length);
    for (const r of stoppedRuns) {
      expect(r.info.status).toBe("KILLED");
      expect(r.data.metrics?.map((m) => m.key)).toContain("valid_logloss");
    }
    const bestRun = runs.find((r) => r.info.run_id === experiment.best.trackingRunId)!;
    expect(bestRun.info.status).toBe("FINISHED");
    expect(bestRun.data.params?.map((p) => p.key)).toEqual(
      expect.arrayContaining(["learningRate", "maxDepth"]),
    );
    const history = await keel.call(
      "GET",
      `/api/2.0/mlflow/metrics/get-history?run_id=${bestRun.info.run_id}&metric_key=valid_logloss`,
    );
    expect(history.json.metrics.length).toBeGreaterThanOrEqual(27);

    // The tuning run carries the summary as tags and as an artifact.
    const parentRun = await keel.call("GET", `/api/2.0/mlflow/runs/get?run_id=${parent}`);
    const tags = Object.fromEntries(
      (parentRun.json.run.data.tags as Array<{ key: string; value: string }>).map((t) => [t.key, t.value]),
    );
    expect(tags["keel.tuning.best_value"]).toBe(String(bestAuc));
    expect(tags["keel.tuning.trials.early_stopped"]).toBe(String(stopped.length));
    expect(JSON.parse(tags["keel.tuning.best_params"])).toEqual(experiment.best.params);
    const artifacts = await keel.call("GET", `/api/2.0/mlflow/artifacts/list?run_id=${parent}&path=tuning`);
    expect(artifacts.json.files.map((f: { path: string }) => f.path)).toContain(SUMMARY_ARTIFACT);

    // The final step registered the best trial's model and asked for its promotion.
    expect(experiment.error ?? "").toBe("");
    expect(experiment.registered).toMatchObject({ model: "tuned-gbdt", version: "1" });
    expect(experiment.registered.promotionId).toBeTruthy();
    const version = await keel.call("GET", "/api/2.0/mlflow/model-versions/get?name=tuned-gbdt&version=1");
    expect(version.json.model_version.run_id).toBe(experiment.best.trackingRunId);
  });

  it("answers 404 for an unknown experiment and lists experiments", async () => {
    expect((await keel.call("GET", `${API}/experiments/nope`)).status).toBe(404);
    expect((await keel.call("POST", `${API}/experiments`, { name: "nope" })).status).toBe(404);
    const list = await keel.call("GET", `${API}/experiments`);
    expect(list.json.experiments.map((e: { name: string }) => e.name)).toContain("gbdt-small");
    const asl = await keel.call("GET", `${API}/definitions/gbdt-small/state-machine`);
    expect(asl.json.States.RunTrials.MaxConcurrency).toBe(4);
  });

  it("tunes a pipeline: each trial is a pipeline run with the suggestion as parameters, its metric read from a step's output", async () => {
    const pipeline = definePipeline({
      name: "branin-pipe",
      params: z.object({
        x1: z.coerce.number(),
        x2: z.coerce.number(),
        offset: z.coerce.number().default(0),
      }),
      steps: [
        {
          name: "score",
          kind: "lambda",
          cache: false,
          handler: (ctx) => {
            const p = ctx.params as { x1: number; x2: number; offset: number };
            return { loss: branin.f({ x1: p.x1, x2: p.x2 }) + p.offset };
          },
        },
      ],
    });
    const svc = keel.platform.services.tuning;
    svc.register(
      defineTuning({
        name: "branin-pipeline",
        pipeline,
        pipelineParams: { offset: 100 },
        parameters: branin.space,
        objective: { metric: "score.loss", goal: "minimize" },
        algorithm: "random",
        maxTrials: 4,
        parallelTrials: 2,
        seed: 9,
      }),
    );
    const exp = await svc.run("branin-pipeline");
    const trials = await svc.store.trials("branin-pipeline");
    expect(exp.status).toBe("SUCCEEDED");
    expect(trials.map((t) => t.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"]);
    for (const t of trials)
      expect(t.value).toBeCloseTo(branin.f(t.params as Record<string, number>) + 100, 6);
    const runs = await keel.call("GET", "/api/v1/pipelines/runs?pipeline=branin-pipe");
    expect(runs.json.runs.map((r: { runId: string }) => r.runId).sort()).toEqual(
      [0, 1, 2, 3].map((n) => `tune-branin-pipeline-${n}-1`),
    );
  });
});
