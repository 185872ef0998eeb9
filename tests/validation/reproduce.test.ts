import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { definePipeline } from "@keel/pipelines";
import { DuckDbValidationEngine, defineExpectations } from "@keel/validation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type FraudPipelineParams, fraudPipeline } from "../../examples/fraud-detection/pipeline";
import { generateTransactions, writeTransactionsParquet } from "../../examples/fraud-detection/src/generate";
import { startTestPlatform } from "../helpers/platform";

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), "keel-reproduce-"));
let platform: Awaited<ReturnType<typeof startTestPlatform>>;
let params: FraudPipelineParams;
let original: string;

const pipelines = () => platform.platform.services.pipelines;
async function finish(runId: string) {
  await pipelines().waitForRun(runId);
  return pipelines().getRun(runId);
}

/**
 * `keel pipeline reproduce` on the quickstart's pipeline: a run records what made it, a
 * reproduction re-runs it with the recorded params and compares the outputs, down to the
 * bytes of the GBDT model's ONNX file, and names what changed when it cannot match.
 */
beforeAll(async () => {
  platform = await startTestPlatform({
    dataDir: join(dir, "data"),
    config: { registry: { autoApproveStages: ["Production"] } },
  });
  const work = join(dir, "data", "examples", "fraud-detection");
  const transactions = join(work, "transactions.parquet");
  const start = new Date(Math.floor(Date.now() / DAY) * DAY - 25 * DAY);
  writeTransactionsParquet(transactions, generateTransactions({ seed: 42, users: 150, days: 20, start }));
  params = {
    keelUrl: platform.url,
    transactions,
    workDir: work,
    offlineRoot: join(dir, "data", "offline"),
    algorithm: "gbdt",
    minAuc: 0.5,
    model: "fraud",
    deployment: "fraud",
    canaryWeight: 10,
    seed: 7,
  };
  await pipelines().register(fraudPipeline);
  const run = await pipelines().startRun(fraudPipeline.name, { params: { ...params } });
  const done = await finish(run.runId);
  if (done.run.status !== "SUCCEEDED")
    throw new Error(`quickstart run ${done.run.status}: ${done.run.error} ${done.run.cause}`);
  original = run.runId;
}, 240_000);
afterAll(async () => {
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("reproducible runs", () => {
  it("records git commit, lockfile and input hashes, params and seeds with the run and its tracking run", async () => {
    const { run } = await pipelines().getRun(original);
    expect(run.reproducibilityUri).toMatch(/reproducibility\.json$/);
    const record = JSON.parse(
      String(
        await platform.platform.deps.artifacts.getBytes(
          `pipelines/fraud-detection/${original}/reproducibility.json`,
        ),
      ),
    );
    expect(record.git.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(typeof record.git.dirty).toBe("boolean");
    expect(record.lockfile.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record.inputs.transactions.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record.seeds).toEqual({ seed: 7 });
    const tr = await platform.call("GET", `/api/2.0/mlflow/runs/get?run_id=${run.trackingRunId}`);
    const tags = Object.fromEntries(
      tr.json.run.data.tags.map((t: { key: string; value: string }) => [t.key, t.value]),
    );
    expect(tags["keel.repro.git_commit"]).toBe(record.git.commit);
    expect(tags["keel.repro.seed"]).toBe("seed=7");
  });

  it("shows the validation results and the reproducibility record in the model version's lineage", async () => {
    const lineage = await platform.call("GET", "/api/v1/models/fraud/versions/1/lineage");
    const nodes = lineage.json.lineage.nodes as Array<{
      type: string;
      label: string;
      attributes: Record<string, unknown>;
    }>;
    const validation = nodes.find((n) => n.type === "validation");
    expect(validation?.label).toBe("fraud-training-set");
    expect(validation?.attributes).toMatchObject({ passed: true, errors: 0 });
    expect(String(validation?.attributes.report)).toMatch(/validation\/report\.json$/);
    const repro = nodes.find((n) => n.type === "reproducibility");
    expect(repro?.attributes.git_commit).toMatch(/^[0-9a-f]{40}$/);
    expect(repro?.attributes.inputs_sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("compares today's data with a registered model version's training profile in one expectation", async () => {
    const { steps } = await pipelines().getRun(original);
    const trainingSet = (steps.find((s) => s.step === "training_set")!.output as { trainingSetUri: string })
      .trainingSetUri;
    const shifted = join(dir, "shifted.parquet");
    const engine = new DuckDbValidationEngine();
    await engine.query(
      `COPY (SELECT * REPLACE (avg_amount_7d * 5 AS avg_amount_7d) FROM read_parquet('${trainingSet}')) TO '${shifted}' (FORMAT PARQUET)`,
    );
    await engine.close();
    const likeTraining = defineExpectations({
      name: "like-training",
      reference: { model: "fraud", version: 1 },
      expectations: [{ kind: "distribution", column: "avg_amount_7d", maxPsi: 0.25 }],
    });
    await pipelines().register(
      definePipeline({
        name: "drift-check",
        params: z.object({ data: z.string() }),
        steps: [
          {
            name: "check",
            kind: "builtin",
            uses: "validate",
            cache: false,
            with: { suite: likeTraining, dataset: "{{params.data}}" },
          },
        ],
      }),
    );
    const same = await finish(
      (await pipelines().startRun("drift-check", { params: { data: trainingSet } })).runId,
    );
    expect(same.run.status).toBe("SUCCEEDED");
    const moved = await finish(
      (await pipelines().startRun("drift-check", { params: { data: shifted } })).runId,
    );
    expect(moved.run.status).toBe("FAILED");
    expect(moved.steps[0].cause).toMatch(/'avg_amount_7d' drifted from the reference: PSI \S+ > 0\.25/);
  });

  it("rebuilds the quickstart's GBDT model with identical ONNX bytes and equal metrics", async () => {
    const again = await pipelines().reproduce(original);
    expect(again).toMatchObject({ trigger: "reproduce", reproducedFrom: original, noCache: true });
    await finish(again.runId);
    const report = await pipelines().reproduction(again.runId);
    expect(report.summary).toMatch(/^reproduced/);
    expect(report.reproduced).toBe(true);
    expect(report.models).toHaveLength(1);
    expect(report.models[0].step).toBe("train");
    expect(report.models[0].original.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.models[0].reproduced.sha256).toBe(report.models[0].original.sha256);
    const auc = report.metrics.find((m) => m.step === "train" && m.key === "metrics.valid_auc");
    expect(auc?.delta).toBe(0);
    expect(report.differences).toEqual([]);
    // Steps that declare side effects (cache: false: materialize, register, deploy) are not compared.
    expect(new Set(report.metrics.map((m) => m.step))).toEqual(
      new Set(["training_set", "validate_training_set", "train", "evaluate", "compute_features"]),
    );
  }, 240_000);

  it("says the input changed when the recorded dataset's hash no longer matches", async () => {
    const start = new Date(Math.floor(Date.now() / DAY) * DAY - 25 * DAY);
    writeTransactionsParquet(
      params.transactions,
      generateTransactions({ seed: 43, users: 150, days: 20, start }),
    );
    const again = await pipelines().reproduce(original);
    await finish(again.runId);
    const report = await pipelines().reproduction(again.runId);
    expect(report.reproduced).toBe(false);
    expect(report.models[0].identical).toBe(false);
    expect(report.summary).toMatch(/NOT reproduced: .*0\/1 models byte-identical/);
    expect(report.summary).toMatch(
      /likely because .*input transactions \(.*transactions\.parquet\) hash no longer matches/,
    );
  }, 240_000);
});
