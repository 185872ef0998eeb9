import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlpReference } from "../../bench/serving-onnx-mlp";
import { closedUrl, rowsRequest, smallConfig, specFor, tempRepository } from "./fixtures";
import { eventually, startServing } from "./harness";

const repo = tempRepository();
const logged: Array<{ deployment: string; version: string; inputs: Record<string, number[][]> }> = [];
let h: Awaited<ReturnType<typeof startServing>>;

let UNREACHABLE: { type: "kserve"; url: string };
const row = (i: number) => [i, 1, -1, i / 10];
const out0 = (v: number, r: number[]) => mlpReference(specFor(v), r)[0];

beforeAll(async () => {
  UNREACHABLE = { type: "kserve", url: await closedUrl() };
  repo.add("fraud", smallConfig("fraud", "dynamic_batching { }\nversion_policy { all {} }"), [1, 2, 3]);
  h = await startServing(repo.root, {
    predictions: { record: (e) => void logged.push(e) },
    features: {
      async getOnlineFeatures(req) {
        const ids = req.entities.customer_id;
        const known: Record<string, number[]> = { c1: [1, 2, 3, 4], c2: [0, 0, 1, 1] };
        return {
          metadata: { feature_names: ["customer_id", "f1", "f2", "f3", "f4"] },
          results: [
            { values: ids, statuses: ids.map(() => "PRESENT") },
            ...[0, 1, 2, 3].map((j) => ({ values: ids.map((id) => known[String(id)]?.[j] ?? null) })),
          ],
        };
      },
    },
  });
});

afterAll(async () => {
  await h.close();
  repo.remove();
});

describe("router: deployments, canary, shadow, rollback", () => {
  it("creates a deployment and serves it under /v2 with the stable version", async () => {
    const created = await h.call("POST", "/api/v1/deployments", {
      name: "fraud-live",
      model: "fraud",
      version: "1",
      max_chunk_rows: 4,
    });
    expect(created.status).toBe(201);
    expect(created.json.stable).toMatchObject({ model: "fraud", version: "1", backend: { type: "local" } });
    expect(
      (await h.call("POST", "/api/v1/deployments", { name: "fraud-live", model: "fraud", version: "1" }))
        .status,
    ).toBe(409);
    const r = await h.call("POST", "/v2/models/fraud-live/infer", rowsRequest([row(1)], "a1"));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      id: "a1",
      model_name: "fraud",
      model_version: "1",
      parameters: { deployment: "fraud-live" },
    });
    expect(r.json.outputs[0].data[0]).toBeCloseTo(out0(1, row(1)), 4);
    expect((await h.call("GET", "/v2/models/fraud-live")).json).toMatchObject({
      name: "fraud-live",
      inputs: [{ name: "input" }],
    });
  });

  it("splits a client batch larger than the backend's into chunks and keeps row order", async () => {
    const rows = Array.from({ length: 19 }, (_, i) => row(i));
    // 19 rows exceed the model's max_batch_size of 8; the router sends chunks of 4.
    expect((await h.call("POST", "/v2/models/fraud/infer", rowsRequest(rows))).status).toBe(400);
    const r = await h.call("POST", "/v2/models/fraud-live/infer", rowsRequest(rows));
    expect(r.json.outputs[0].shape).toEqual([19, 2]);
    rows.forEach((x, i) => {
      expect(r.json.outputs[0].data[i * 2]).toBeCloseTo(out0(1, x), 4);
    });
  });

  it("sends a weighted share to the canary, sticky per route key, and mirrors to the shadow", async () => {
    expect(
      (await h.call("POST", "/api/v1/deployments/fraud-live/shift", { version: "2", weight: 10 })).json
        .canary,
    ).toMatchObject({ version: "2", weight: 10 });
    expect((await h.call("PUT", "/api/v1/deployments/fraud-live/shadow", { version: "3" })).status).toBe(200);
    const versions: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await h.call("POST", "/v2/models/fraud-live/infer", rowsRequest([row(i)]), {
        "x-keel-route-key": `user-${i}`,
      });
      expect(r.status).toBe(200);
      expect(r.json.outputs[0].data[0]).toBeCloseTo(out0(Number(r.json.model_version), row(i)), 4);
      versions.push(r.json.model_version);
    }
    const canaryShare = versions.filter((v) => v === "2").length / versions.length;
    expect(canaryShare).toBeGreaterThan(0.03);
    expect(canaryShare).toBeLessThan(0.2);
    expect(versions).not.toContain("3");
    const again = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
        h.call("POST", "/v2/models/fraud-live/infer", rowsRequest([row(i)]), {
          "x-keel-route-key": `user-${i}`,
        }),
      ),
    );
    again.forEach((r, i) => {
      expect(r.json.model_version).toBe(versions[i]);
    });
    const server = h.module.service.server;
    await eventually(
      () => (server?.metrics.requestSuccess.get({ model: "fraud", version: "3" }) ?? 0) >= 200,
    );
  });

  it("never lets a failing shadow reach the caller", async () => {
    await h.call("PUT", "/api/v1/deployments/fraud-live/shadow", { version: "3", backend: UNREACHABLE });
    const r = await h.call("POST", "/v2/models/fraud-live/infer", rowsRequest([row(2)]));
    expect(r.status).toBe(200);
    await eventually(
      () =>
        h.module.service.metrics.shadowFailures.get({ deployment: "fraud-live", version: "fraud@3" }) >= 1,
    );
    expect((await h.call("DELETE", "/api/v1/deployments/fraud-live/shadow")).json.shadow).toBeUndefined();
  });

  it("falls back to stable when the canary fails, and canary analysis rolls it back", async () => {
    await h.call("PATCH", "/api/v1/deployments/fraud-live", { analysis: { min_requests: 10 } });
    await h.call("POST", "/api/v1/deployments/fraud-live/shift", {
      version: "9",
      weight: 50,
      backend: UNREACHABLE,
    });
    for (let i = 0; i < 40; i++) {
      const r = await h.call("POST", "/v2/models/fraud-live/infer", rowsRequest([row(i)]));
      expect(r.status).toBe(200);
      expect(r.json.model_version).toBe("1");
    }
    const analysis = await h.call("POST", "/api/v1/deployments/fraud-live/analyze");
    expect(analysis.json.decision).toBe("rollback");
    expect(analysis.json.canary.errorRate).toBe(1);
    // Changing one analysis setting kept the others, and the deployment's other settings.
    const settings = (await h.call("GET", "/api/v1/deployments/fraud-live")).json;
    expect(settings).toMatchObject({ max_chunk_rows: 4, analysis: { min_requests: 10, window_s: 300 } });
    const status = await h.call("GET", "/api/v1/deployments/fraud-live");
    expect(status.json.canary).toBeUndefined();
    expect(status.json.history[0]).toMatchObject({ action: "rollback" });
    expect(status.json.history[0].detail).toMatch(/canary analysis: canary error rate 100.0%/);
  });

  it("promotes a healthy canary", async () => {
    // Latency on a shared CI machine is noise; this test is about the promotion path.
    await h.call("PATCH", "/api/v1/deployments/fraud-live", {
      analysis: { min_requests: 10, max_latency_ratio: 1000, min_latency_delta_ms: 10_000 },
    });
    await h.call("POST", "/api/v1/deployments/fraud-live/shift", { version: "2", weight: 50 });
    expect((await h.call("POST", "/api/v1/deployments/fraud-live/analyze")).json.decision).toBe("wait");
    for (let i = 0; i < 60; i++)
      await h.call("POST", "/v2/models/fraud-live/infer", rowsRequest([row(i)]), {
        "x-keel-route-key": `p${i}`,
      });
    const analysis = await h.call("POST", "/api/v1/deployments/fraud-live/analyze");
    expect(analysis.json, JSON.stringify(analysis.json)).toMatchObject({ decision: "promote" });
    const d = (await h.call("GET", "/api/v1/deployments/fraud-live")).json;
    expect(d.stable.version).toBe("2");
    const manual = await h.call("POST", "/api/v1/deployments/fraud-live/rollback", { reason: "operator" });
    expect(manual.json.stable.version).toBe("1");
    const events = await h.audit.list({ resource: "deployment:fraud-live" });
    expect(events.events.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        "serving.deployment.create",
        "serving.deployment.shift",
        "serving.deployment.shadow.set",
        "serving.deployment.promote",
        "serving.deployment.rollback",
      ]),
    );
  });

  it("builds input tensors from the feature service for entity requests", async () => {
    await h.call("POST", "/api/v1/deployments", {
      name: "fraud-features",
      model: "fraud",
      version: "1",
      features: { feature_service: "fraud_v1", input: "input" },
    });
    const r = await h.call("POST", "/v2/models/fraud-features/infer", {
      entities: { customer_id: ["c1", "c2"] },
    });
    expect(r.status).toBe(200);
    expect(r.json.outputs[0].data[0]).toBeCloseTo(out0(1, [1, 2, 3, 4]), 4);
    expect(r.json.outputs[0].data[2]).toBeCloseTo(out0(1, [0, 0, 1, 1]), 4);
    const unknown = await h.call("POST", "/v2/models/fraud-features/infer", {
      entities: { customer_id: ["c1", "nobody"] },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatch(/feature 'f1' is missing for entity row 1 \(customer_id=nobody\)/);
    expect(
      (await h.call("POST", "/v2/models/fraud-live/infer", { entities: { customer_id: ["c1"] } })).json.error,
    ).toMatch(/has no feature service/);
    expect(logged.some((e) => e.deployment === "fraud-features" && e.inputs.input[0].length === 4)).toBe(
      true,
    );
  });

  it("scores asynchronously through the queue and returns results by request id", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await h.call(
        "POST",
        "/api/v1/deployments/fraud-live/infer-async",
        rowsRequest([row(i), row(i + 1)]),
      );
      expect(r.status).toBe(202);
      ids.push(r.json.request_id);
    }
    for (const [i, id] of ids.entries()) {
      const done = await eventually(async () => {
        const r = await h.call("GET", `/api/v1/scoring/${id}`);
        if (r.json.status === "failed") throw new Error(JSON.stringify(r.json));
        return r.json.status === "done" ? r.json : undefined;
      });
      expect(done.response.id).toBe(id);
      expect(done.response.outputs[0].shape).toEqual([2, 2]);
      expect(done.response.outputs[0].data[2]).toBeCloseTo(out0(1, row(i + 1)), 4);
    }
    expect((await h.call("GET", "/api/v1/scoring/nope")).status).toBe(404);
    expect(
      (await h.call("POST", "/api/v1/deployments/ghost/infer-async", rowsRequest([row(1)]))).status,
    ).toBe(404);
  });

  it("keeps shadow traffic out of the canary's analysis, even for the same version", async () => {
    await h.call("POST", "/api/v1/deployments", {
      name: "mirrored",
      model: "fraud",
      version: "1",
      analysis: { min_requests: 5 },
    });
    await h.call("POST", "/api/v1/deployments/mirrored/shift", { version: "2", weight: 0 });
    await h.call("PUT", "/api/v1/deployments/mirrored/shadow", { version: "2" });
    for (let i = 0; i < 10; i++)
      expect(
        (await h.call("POST", "/v2/models/mirrored/infer", rowsRequest([row(i)]))).json.model_version,
      ).toBe("1");
    const server = h.module.service.server;
    await eventually(() => (server?.metrics.requestSuccess.get({ model: "fraud", version: "2" }) ?? 0) >= 10);
    const status = (await h.call("GET", "/api/v1/deployments/mirrored")).json;
    expect(status.analysis_status).toMatchObject({
      decision: "wait",
      canary: { requests: 0 },
      stable: { requests: 10 },
    });
  });

  it("audits model loads and unloads through the repository API", async () => {
    expect((await h.call("POST", "/v2/repository/models/fraud/load")).status).toBe(200);
    const events = await h.audit.list({ resource: "model-server:fraud" });
    expect(events.events.map((e) => e.action)).toContain("serving.model.load");
  });

  it("answers bad input with 4xx and the error naming the problem", async () => {
    const ghost = await h.call("POST", "/v2/models/ghost/infer", rowsRequest([row(1)]));
    expect(ghost.status).toBe(404);
    expect(ghost.json.error).toMatch(/model 'ghost' is not loaded/);
    expect((await h.call("GET", "/api/v1/deployments/ghost")).json).toMatchObject({
      error_code: "RESOURCE_DOES_NOT_EXIST",
    });
    const bad = await h.call("POST", "/api/v1/deployments", {
      name: "Bad Name",
      model: "fraud",
      version: "1",
    });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/name/);
    expect(
      (await h.call("POST", "/api/v1/deployments/fraud-live/shift", { version: "2", weight: 150 })).status,
    ).toBe(400);
    expect((await h.call("POST", "/api/v1/deployments/fraud-live/promote")).json.error_code).toBe(
      "INVALID_STATE",
    );
    const both = await h.call("POST", "/v2/models/fraud-live/infer", {
      ...rowsRequest([row(1)]),
      entities: { customer_id: ["c1"] },
    });
    expect(both.json.error).toMatch(/either 'inputs'.*or 'entities'/);
    const wrong = await h.call("POST", "/v2/models/fraud-live/infer", {
      inputs: [{ name: "input", datatype: "FP64", shape: [1, 4], data: [1, 2, 3, 4] }],
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toMatch(/expected datatype FP32, got FP64/);
  });
});
