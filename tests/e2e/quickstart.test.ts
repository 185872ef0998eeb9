import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  completedQuickstart,
  type QuickstartSummary,
  runQuickstart,
} from "../../examples/fraud-detection/src/quickstart";
import { startTestPlatform } from "../helpers/platform";

const FEATURES = ["avg_amount_7d", "txn_count_24h", "unique_merchants_30d", "max_amount_7d"];
const silent = {
  task: <T>(_title: string, fn: (update: (d: string) => void) => Promise<T>) => fn(() => undefined),
  info: () => undefined,
};

/**
 * The quickstart end to end on the local platform (real HTTP, dynalite on disk, DuckDB, ONNX
 * Runtime), at a smaller scale than `npm start` so it stays quick: the outcomes a new user
 * is promised, checked through the platform's public APIs.
 */
describe("quickstart (examples/fraud-detection)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "keel-quickstart-"));
  let platform: Awaited<ReturnType<typeof startTestPlatform>>;
  let summary: QuickstartSummary;

  beforeAll(async () => {
    // What `keel dev` sets for the local stage; nothing else approves a promotion by itself.
    platform = await startTestPlatform({
      dataDir,
      config: { registry: { autoApproveStages: ["Production"] } },
    });
    summary = await runQuickstart({
      url: platform.url,
      dataDir,
      offlineRoot: join(dataDir, "offline"),
      progress: silent,
      registerPipelines: (file) => platform.platform.services.pipelines.registerFile(file),
      users: 300,
      days: 30,
    });
  }, 240_000);
  afterAll(async () => {
    await platform?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("trains, registers and auto-approves the trees as version 2 of 'fraud'", async () => {
    expect(summary.runs.map((r) => [r.algorithm, r.version, r.mode])).toEqual([
      ["logistic", "1", "created"],
      ["gbdt", "2", "canary"],
    ]);
    expect(summary.runs[1].auc).toBeGreaterThanOrEqual(0.8);
    const v = await platform.call("GET", "/api/2.0/mlflow/model-versions/get?name=fraud&version=2");
    expect(v.json.model_version.current_stage).toBe("Production");
    const promos = await platform.call("GET", "/api/v1/models/fraud/promotions?status=APPROVED");
    const forV2 = promos.json.promotions.find((p: { version: string }) => p.version === "2");
    expect(forV2).toMatchObject({
      auto_approved: true,
      reviewer: "keel:auto-approve",
      target: { stage: "Production" },
    });
    const lineage = await platform.call("GET", "/api/v1/models/fraud/versions/2/lineage");
    const types = lineage.json.lineage.nodes.map((n: { type: string }) => n.type);
    expect(types).toEqual(
      expect.arrayContaining(["run", "pipeline_run", "feature_view", "promotion", "deployment"]),
    );
  });

  it("serves version 2 at 100% after the canary was promoted", async () => {
    const dep = await platform.call("GET", "/api/v1/deployments/fraud");
    expect(dep.json.stable.version).toBe("2");
    expect(dep.json.canary).toBeUndefined();
    expect(dep.json.history.map((h: { action: string }) => h.action)).toEqual(
      expect.arrayContaining(["shift", "promote"]),
    );
  });

  it("scores users by id with their features from the online store, and explains the scores", async () => {
    const users = ["u00000", "u00001", "u00002", "u00003"];
    const online = await platform.call("POST", "/api/v1/features/get-online-features", {
      feature_service: "fraud_v1",
      entities: { user_id: users },
    });
    expect(online.json.metadata.feature_names).toEqual(["user_id", ...FEATURES]);
    const rows = users.map((_, r) => FEATURES.map((_, f) => online.json.results[f + 1].values[r] as number));
    const byId = await platform.call("POST", "/v2/models/fraud/infer", { entities: { user_id: users } });
    expect(byId.status).toBe(200);
    expect(byId.json.model_version).toBe("2");
    const byTensor = await platform.call("POST", "/v2/models/fraud/infer", {
      inputs: [
        { name: "features", datatype: "FP32", shape: [users.length, FEATURES.length], data: rows.flat() },
      ],
    });
    const scores = byId.json.outputs[0].data as number[];
    expect(scores).toEqual(byTensor.json.outputs[0].data);
    for (const s of scores) {
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThan(1);
    }

    const ex = await platform.call("POST", "/v2/models/fraud/explain", { entities: { user_id: users } });
    expect(ex.status).toBe(200);
    const out = (name: string) => ex.json.outputs.find((t: { name: string }) => t.name === name);
    expect(out("contributions").shape).toEqual([users.length, FEATURES.length]);
    users.forEach((_, r) => {
      const contributions = out("contributions").data.slice(r * FEATURES.length, (r + 1) * FEATURES.length);
      const margin = out("margin").data[r];
      const sum = contributions.reduce((a: number, b: number) => a + b, out("base_value").data[r]);
      expect(sum).toBeCloseTo(margin, 9);
      expect(1 / (1 + Math.exp(-margin))).toBeCloseTo(scores[r], 5);
    });
  });

  it("stores a decision's explanation with it in the prediction log when infer asks for it", async () => {
    const from = Date.now();
    const decided = await platform.call("POST", "/v2/models/fraud/infer", {
      id: "audit-me-1",
      entities: { user_id: ["u00001"] },
      parameters: { explain: true },
    });
    expect(decided.status).toBe(200);
    const monitoring = platform.platform.modules.find((m) => m.name === "monitoring") as unknown as {
      predictionLog: {
        flush(): Promise<void>;
        read(
          d: string,
          from: number,
          to: number,
        ): Promise<Array<{ requestId: string; explanation?: unknown }>>;
      };
    };
    await monitoring.predictionLog.flush();
    const logged = (await monitoring.predictionLog.read("fraud", from - 1, Date.now() + 1)).find(
      (e) => e.requestId === "audit-me-1",
    );
    const explanation = logged?.explanation as Record<string, number[][]>;
    expect(explanation.contributions[0]).toHaveLength(FEATURES.length);
    const margin = explanation.margin[0][0];
    const sum = explanation.contributions[0].reduce((a, b) => a + b, explanation.base_value[0][0]);
    expect(sum).toBeCloseTo(margin, 9);
    expect(1 / (1 + Math.exp(-margin))).toBeCloseTo(decided.json.outputs[0].data[0], 5);
  });

  it("refuses explanations it cannot give, naming the problem", async () => {
    const notDeployed = await platform.call("POST", "/v2/models/nope/explain", {
      entities: { user_id: ["u00000"] },
    });
    expect(notDeployed.status).toBe(404);
    expect(notDeployed.json.error).toMatch(/'nope' is not a deployment/);
    const oldVersion = await platform.call("POST", "/v2/models/fraud/versions/1/explain", {
      entities: { user_id: ["u00000"] },
    });
    expect(oldVersion.status).toBe(404);
    expect(oldVersion.json.error).toMatch(/does not route to version '1'/);
    const narrow = await platform.call("POST", "/v2/models/fraud/explain", {
      inputs: [{ name: "features", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }],
    });
    expect(narrow.status).toBe(400);
    expect(narrow.json.error).toMatch(/explain input must be \[N, 4\]/);
    const unknownUser = await platform.call("POST", "/v2/models/fraud/explain", {
      entities: { user_id: ["ghost"] },
    });
    expect(unknownUser.status).toBe(400);
    expect(unknownUser.json.error).toMatch(/missing for entity row 0 \(user_id=ghost\)/);
  });

  it("flags the shifted batch of traffic as drift", async () => {
    expect(summary.drift.status).toBe("drift");
    const latest = await platform.call("GET", "/api/v1/monitoring/deployments/fraud/drift");
    expect(latest.json.id).toBe(summary.drift.reportId);
    expect(
      latest.json.features.some(
        (f: { name: string; status: string }) => f.name === "avg_amount_7d" && f.status === "drift",
      ),
    ).toBe(true);
    const html = await platform.call("GET", `/api/v1/monitoring/reports/${summary.drift.reportId}.html`);
    expect(html.status).toBe(200);
  });

  it("records completion, so a second `keel dev` on the data dir only prints the summary", async () => {
    expect(completedQuickstart(dataDir)).toEqual(summary);
    await platform.close();
    const bin = join(import.meta.dirname, "../../packages/cli/bin/keel.mjs");
    const proc = spawn(process.execPath, [bin, "dev", "--port", "0", "--data-dir", dataDir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stderr.on("data", (d) => {
      out += d;
    });
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on("data", (d) => {
        out += d;
        if (out.includes("keel audit verify")) resolve();
      });
      proc.on("exit", (code) => reject(new Error(`keel dev exited with ${code}:\n${out}`)));
    });
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await exited;
    expect(out).toMatch(/approvals: the local stage auto-approves promotions to Production/);
    expect(out).toMatch(/The quickstart ran in this data dir on .*; reusing it\./);
    expect(out).toMatch(/^Quickstart complete: fraud v2 \(gbdt, AUC 0\.\d+\)/m);
    expect(out).not.toMatch(/Pipeline run 1/);
  }, 60_000);
});

describe("quickstart without auto-approval", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "keel-quickstart-4eyes-"));
  let platform: Awaited<ReturnType<typeof startTestPlatform>>;
  beforeAll(async () => {
    platform = await startTestPlatform({ dataDir, config: { registry: { autoApproveStages: [] } } });
  });
  afterAll(async () => {
    await platform?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("stops at the promotion until someone else approves it, then resumes", async () => {
    const run = runQuickstart({
      url: platform.url,
      dataDir,
      offlineRoot: join(dataDir, "offline"),
      progress: silent,
      registerPipelines: (file) => platform.platform.services.pipelines.registerFile(file),
      users: 100,
      days: 20,
    });
    await expect(run).rejects.toThrow(
      /at step request_promotion: promotion request \w+ for fraud v1 awaits a reviewer/,
    );
    expect(completedQuickstart(dataDir)).toBeUndefined();
    const { json } = await platform.call("GET", "/api/v1/models/fraud/promotions?status=PENDING");
    expect(json.promotions).toHaveLength(1);
    const approved = await platform.call(
      "POST",
      `/api/v1/promotions/${json.promotions[0].id}/approve`,
      {},
      {
        "x-keel-principal": "reviewer-bob",
      },
    );
    expect(approved.json.promotion).toMatchObject({
      status: "APPROVED",
      auto_approved: false,
      reviewer: "reviewer-bob",
    });

    const runs = await platform.call("GET", "/api/v1/pipelines/runs?pipeline=fraud-detection");
    const failed = runs.json.runs.find((r: { status: string }) => r.status === "FAILED");
    const resumed = await platform.call("POST", `/api/v1/pipelines/runs/${failed.runId}/resume`);
    expect(resumed.status).toBe(201);
    let status = "RUNNING";
    while (status === "RUNNING") {
      await new Promise((r) => setTimeout(r, 200));
      status = (await platform.call("GET", `/api/v1/pipelines/runs/${resumed.json.run.runId}`)).json.run
        .status;
    }
    expect(status).toBe("SUCCEEDED");
    const dep = await platform.call("GET", "/api/v1/deployments/fraud");
    expect(dep.json.stable.version).toBe("1");
  }, 120_000);
});
