import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { definePipeline } from "@keel/pipelines";
import { DuckDbValidationEngine, defineExpectations, evaluateSuite } from "@keel/validation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { keel, REPO_ROOT } from "../cli/keel";
import { startTestPlatform } from "../helpers/platform";
import { writeTransactions } from "./helpers";

const suite = defineExpectations({
  name: "transactions",
  expectations: [
    {
      kind: "schema",
      columns: {
        txn_id: { type: "integer", nullable: false },
        user_id: { type: "string", nullable: false },
        amount: { type: "number" },
        event_timestamp: { type: "timestamp", nullable: false },
      },
    },
    { kind: "range", column: "amount", min: 0, max: 1000 },
    { kind: "in_set", column: "country", values: ["US", "GB", "FR"] },
    { kind: "unique", columns: ["txn_id"] },
    { kind: "null_rate", column: "user_id", max: 0.05, severity: "warn" },
    { kind: "row_count", min: 100 },
    { kind: "freshness", column: "event_timestamp", maxAgeSeconds: 86_400 },
  ],
});

const dir = mkdtempSync(join(tmpdir(), "keel-validate-"));
let platform: Awaited<ReturnType<typeof startTestPlatform>>;
const trained: string[] = [];

const pipeline = definePipeline({
  name: "validated-training",
  params: z.object({ data: z.string() }),
  steps: [
    {
      name: "validate_data",
      kind: "builtin",
      uses: "validate",
      cache: false,
      with: { suite, dataset: "{{params.data}}" },
    },
    {
      name: "train",
      kind: "lambda",
      dependsOn: ["validate_data"],
      cache: false,
      handler: (ctx) => {
        trained.push(String(ctx.params.data));
        return { ok: true };
      },
    },
  ],
});

async function runPipeline(data: string) {
  const svc = platform.platform.services.pipelines;
  const started = await svc.startRun("validated-training", { params: { data } });
  await svc.waitForRun(started.runId);
  const r = await svc.getRun(started.runId);
  return { run: r.run, step: Object.fromEntries(r.steps.map((s) => [s.step, s])) };
}

beforeAll(async () => {
  platform = await startTestPlatform({ dataDir: join(dir, "data") });
  await platform.platform.services.pipelines.register(pipeline);
  await writeTransactions(join(dir, "good.parquet"), 2000);
  await writeTransactions(join(dir, "negative.parquet"), 2000, { broken: "amount_negative" });
  await writeTransactions(join(dir, "string.parquet"), 2000, { broken: "amount_string" });
}, 120_000);
afterAll(async () => {
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the validate step", () => {
  it("passes good data on to training and records the results as a tracking run with reports", async () => {
    const { run, step } = await runPipeline(join(dir, "good.parquet"));
    expect(run.status).toBe("SUCCEEDED");
    expect(trained).toEqual([join(dir, "good.parquet")]);
    const out = step.validate_data.output as Record<string, unknown>;
    expect(out).toMatchObject({ suite: "transactions", passed: true, errors: 0, rows: 2000 });
    const tr = await platform.call("GET", `/api/2.0/mlflow/runs/get?run_id=${out.trackingRunId}`);
    const metrics = Object.fromEntries(
      tr.json.run.data.metrics.map((m: { key: string; value: number }) => [m.key, m.value]),
    );
    expect(metrics["validation.passed"]).toBe(1);
    expect(metrics["validation.rows"]).toBe(2000);
    expect(metrics["check.amount.range.passed"]).toBe(1);
    const art = await platform.call(
      "GET",
      `/api/2.0/mlflow/artifacts/list?run_id=${out.trackingRunId}&path=validation`,
    );
    expect(art.json.files.map((f: { path: string }) => f.path).sort()).toEqual([
      "validation/report.html",
      "validation/report.json",
    ]);
  });

  it("stops the pipeline on a dataset with a broken column and says which and why", async () => {
    const { run, step } = await runPipeline(join(dir, "negative.parquet"));
    expect(run.status).toBe("FAILED");
    expect(step.validate_data.status).toBe("FAILED");
    expect(step.validate_data.error).toBe("Keel.ValidationFailed");
    expect(step.validate_data.cause).toMatch(
      /ERROR amount\.range: 200 values of 'amount' outside \[0, 1000\]/,
    );
    expect(step.validate_data.cause).toMatch(/report: .*report\.html/);
    expect(step.train?.status ?? "NOT RUN").not.toBe("SUCCEEDED");
    expect(trained).toHaveLength(1);
  });

  it("names a column whose type changed", async () => {
    const { run, step } = await runPipeline(join(dir, "string.parquet"));
    expect(run.status).toBe("FAILED");
    expect(step.validate_data.cause).toMatch(/column 'amount' is VARCHAR, expected number/);
    expect(step.validate_data.cause).toMatch(/amount\.range: column 'amount' is VARCHAR, not numeric/);
  });
});

describe("evaluateSuite", () => {
  it("computes every check in one aggregate scan and reports warnings without failing", async () => {
    const path = join(dir, "nulls.parquet");
    await writeTransactions(path, 1000, { broken: "user_nulls" });
    const engine = new DuckDbValidationEngine();
    const r = await evaluateSuite(engine, suite, path);
    await engine.close();
    expect(r.scans).toBe(1);
    const byName = Object.fromEntries(r.results.map((x) => [x.name, x]));
    // user_id is declared non-nullable (error) and has a null-rate bound (warn).
    expect(byName.schema.passed).toBe(false);
    expect(byName.schema.message).toMatch(/'user_id' has 250 nulls/);
    expect(byName["user_id.null_rate"]).toMatchObject({ passed: false, severity: "warn" });
    expect(byName["user_id.null_rate"].observed.null_rate).toBeCloseTo(0.25, 6);
    expect(r).toMatchObject({ errors: 1, warnings: 1, passed: false });
  });

  it("flags stale data and duplicate keys", async () => {
    const path = join(dir, "old.parquet");
    await writeTransactions(path, 500, { nowMs: Date.now() - 3 * 86_400_000 });
    const engine = new DuckDbValidationEngine();
    const dupSuite = defineExpectations({
      name: "dups",
      expectations: [
        { kind: "unique", columns: ["user_id"] },
        { kind: "unique", name: "pair", columns: ["user_id", "country"] },
        { kind: "freshness", column: "event_timestamp", maxAgeSeconds: 86_400 },
      ],
    });
    const r = await evaluateSuite(engine, dupSuite, path);
    await engine.close();
    const byName = Object.fromEntries(r.results.map((x) => [x.name, x]));
    expect(byName["user_id.unique"].observed.duplicates).toBe(500 - 97);
    expect(byName.pair.observed.duplicates).toBe(500 - 97 * 3);
    expect(byName["event_timestamp.freshness"].passed).toBe(false);
    expect(byName["event_timestamp.freshness"].message).toMatch(/s old \(at most 86400 s\)/);
  });
});

describe("keel data validate", () => {
  it("prints the results, writes the JSON and HTML report, and exits 1 on errors", async () => {
    // Under the repo's git-ignored .tmp/, so the suite's `@keel/validation` import resolves.
    const suiteDir = join(REPO_ROOT, ".tmp", `validate-cli-${process.pid}`);
    mkdirSync(suiteDir, { recursive: true });
    const file = join(suiteDir, "suite.ts");
    writeFileSync(
      file,
      `import { defineExpectations } from "@keel/validation";
export const amounts = defineExpectations({ name: "amounts", expectations: [
  { kind: "range", column: "amount", min: 0, max: 1000 },
  { kind: "row_count", min: 10 },
] });
`,
    );
    try {
      const good = await keel([
        "data",
        "validate",
        file,
        join(dir, "good.parquet"),
        "--out",
        join(dir, "cli-good"),
      ]);
      expect(good.code).toBe(0);
      expect(good.out).toMatch(/suite amounts: all 2 expectations passed on 2000 rows/);
      const bad = await keel([
        "data",
        "validate",
        file,
        join(dir, "negative.parquet"),
        "--out",
        join(dir, "cli-bad"),
      ]);
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(/✖ amount\.range\s+200 values of 'amount' outside \[0, 1000\]/);
      const report = JSON.parse(readFileSync(join(dir, "cli-bad", "report.json"), "utf8"));
      expect(report).toMatchObject({ suite: "amounts", passed: false, errors: 1, rows: 2000 });
      expect(readFileSync(join(dir, "cli-bad", "report.html"), "utf8")).toMatch(/Validation of .*: FAILED/);
    } finally {
      rmSync(suiteDir, { recursive: true, force: true });
    }
  }, 60_000);
});
