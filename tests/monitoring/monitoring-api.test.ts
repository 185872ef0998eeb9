import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MonitoringModule } from "@keel/monitoring";
import { Random, trainHandler } from "@keel/train";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monitorDriftCommand } from "../../packages/cli/src/commands/monitor";
import { startTestPlatform } from "../helpers/platform";

const FEATURES = ["amount", "hour"];

function sample(n: number, seed: number, shift = 0): number[][] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => [rng.next() * 100 + shift, rng.next() * 24]);
}

/**
 * The whole loop on the real local platform over HTTP: the built-in trainer logs a run to
 * Keel's MLflow tracking API, the model version is registered, predictions are logged, and
 * the drift API (and `keel monitor drift`) finds the shift against the run's baseline.
 */
describe("monitoring API on the local platform", () => {
  let t: Awaited<ReturnType<typeof startTestPlatform>>;
  let dir = "";
  let monitoring: MonitoringModule;

  beforeAll(async () => {
    t = await startTestPlatform();
    dir = await mkdtemp(join(tmpdir(), "keel-mon-api-"));
    monitoring = t.platform.modules.find((m) => m.name === "monitoring") as unknown as MonitoringModule;
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  let runId = "";
  it("trains into a real tracking run and registers the model", async () => {
    const rows = sample(2000, 1);
    const bytes = parquetWriteBuffer({
      columnData: [
        ...FEATURES.map((name, f) => ({ name, data: rows.map((r) => r[f]), type: "DOUBLE" as const })),
        {
          name: "label",
          data: rows.map((r) => (r[0] > 70 && r[1] < 6 ? 1 : r[0] > 90 ? 1 : 0)),
          type: "INT32" as const,
        },
      ],
    });
    await writeFile(join(dir, "train.parquet"), new Uint8Array(bytes));
    const exp = await t.call("POST", "/api/2.0/mlflow/experiments/create", { name: "fraud" });
    expect(exp.status).toBe(200);
    const out = await trainHandler({
      trainingSetUri: join(dir, "train.parquet"),
      label: "label",
      features: FEATURES,
      params: { rounds: 20 },
      trackingUrl: t.url,
      experimentId: exp.json.experiment_id,
    });
    runId = out.runId;
    const run = await t.call("GET", `/api/2.0/mlflow/runs/get?run_id=${runId}`);
    expect(run.json.run.info.status).toBe("FINISHED");
    expect(
      run.json.run.data.metrics.find((m: { key: string }) => m.key === "valid_auc").value,
    ).toBeGreaterThan(0.9);
    const files = await t.call("GET", `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=model`);
    expect(files.json.files.map((f: { path: string }) => f.path).sort()).toEqual([
      "model/MLmodel",
      "model/input_schema.json",
      "model/keel-model.json",
      "model/model.onnx",
    ]);
    expect(
      (await t.call("POST", "/api/2.0/mlflow/registered-models/create", { name: "fraud-model" })).status,
    ).toBe(200);
    const mv = await t.call("POST", "/api/2.0/mlflow/model-versions/create", {
      name: "fraud-model",
      source: out.modelUri,
      run_id: runId,
    });
    expect(mv.json.model_version.version).toBe("1");
  });

  it("runs drift over HTTP, serves the latest report and its HTML page", async () => {
    const now = Date.now();
    const shifted = sample(600, 9, 60);
    for (let i = 0; i < shifted.length; i += 20) {
      monitoring.predictionSink.record({
        deployment: "fraud-prod",
        model: "fraud-model",
        version: "1",
        requestId: `req-${i}`,
        time: now - 60_000 + i,
        latencyMs: 3,
        inputs: { features: shifted.slice(i, i + 20) },
        outputs: { score: shifted.slice(i, i + 20).map(() => [0.2]) },
      });
    }
    const run = await t.call("POST", "/api/v1/monitoring/deployments/fraud-prod/drift", { window: "1h" });
    expect(run.status).toBe(200);
    expect(run.json.status).toBe("drift");
    expect(run.json.rows).toBe(600);
    expect(run.json.features.find((f: { name: string }) => f.name === "amount").status).toBe("drift");
    expect(run.json.features.find((f: { name: string }) => f.name === "hour").status).toBe("ok");

    const latest = await t.call("GET", "/api/v1/monitoring/deployments/fraud-prod/drift");
    expect(latest.json.id).toBe(run.json.id);
    const html = await t.call("GET", run.json.links.html);
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toMatch(/text\/html/);
    expect(html.text).toContain("<svg");
    const audit = await t.call("GET", "/api/v1/audit?resource=deployment:fraud-prod");
    expect(audit.json.events.map((e: { action: string }) => e.action)).toContain("monitoring.drift.alert");
  });

  it("keel monitor drift prints the report", async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(" "));
    try {
      expect(await monitorDriftCommand.run(["fraud-prod", "--window", "2h", "--url", t.url])).toBe(0);
    } finally {
      console.log = log;
    }
    const out = lines.join("\n");
    expect(out).toMatch(/deployment fraud-prod: DRIFT \(600 rows/);
    expect(out).toMatch(/amount\s+drift/);
    expect(out).toContain(`${t.url}/api/v1/monitoring/reports/`);
  });

  it("answers errors with the right codes", async () => {
    expect(
      (await t.call("POST", "/api/v1/monitoring/deployments/fraud-prod/drift", { window: "soon" })).json,
    ).toMatchObject({
      error_code: "INVALID_PARAMETER_VALUE",
    });
    expect(
      (await t.call("POST", "/api/v1/monitoring/deployments/fraud-prod/drift", { windw: "1h" })).status,
    ).toBe(400);
    expect((await t.call("GET", "/api/v1/monitoring/deployments/nobody/drift")).status).toBe(404);
    expect((await t.call("POST", "/api/v1/monitoring/deployments/nobody/drift", {})).status).toBe(404);
    expect((await t.call("GET", "/api/v1/monitoring/reports/nope.html")).status).toBe(404);
    expect((await t.call("GET", "/api/v1/monitoring/reports/nope")).status).toBe(404);
  });
});
