import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { serve } from "@hono/node-server";
import { createArtifactStore } from "@keel/artifacts";
import { baselineProfileSchema, inputSchema, parseModel, predict } from "@keel/model-format";
import { trainHandler } from "@keel/train";
import { Hono } from "hono";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeS3 } from "../helpers/s3-server";
import { syntheticData, writeSyntheticParquet } from "./synthetic";

/**
 * A minimal MLflow REST stand-in over real HTTP that keeps what it is sent: runs/create,
 * runs/update, runs/log-batch and the artifact proxy PUT, with MLflow's request shapes.
 */
function mlflowStandIn() {
  const state = {
    runs: new Map<string, { experimentId: string; status: string }>(),
    params: new Map<string, string>(),
    metrics: [] as Array<{ key: string; value: number; step: number; timestamp: number }>,
    tags: new Map<string, string>(),
    artifacts: new Map<string, Uint8Array>(),
  };
  const app = new Hono();
  app.post("/api/2.0/mlflow/runs/create", async (c) => {
    const body = await c.req.json();
    const runId = `run${state.runs.size + 1}`.padEnd(32, "0");
    state.runs.set(runId, { experimentId: body.experiment_id, status: "RUNNING" });
    return c.json({ run: { info: { run_id: runId, experiment_id: body.experiment_id } } });
  });
  app.post("/api/2.0/mlflow/runs/update", async (c) => {
    const body = await c.req.json();
    const run = state.runs.get(body.run_id);
    if (!run) return c.json({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "no run" }, 404);
    run.status = body.status;
    return c.json({});
  });
  app.post("/api/2.0/mlflow/runs/log-batch", async (c) => {
    const body = await c.req.json();
    if (!state.runs.has(body.run_id))
      return c.json({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "no run" }, 404);
    if ((body.metrics ?? []).length > 1000 || (body.params ?? []).length > 100) {
      return c.json({ error_code: "INVALID_PARAMETER_VALUE", message: "batch too large" }, 400);
    }
    for (const p of body.params ?? []) state.params.set(p.key, p.value);
    for (const t of body.tags ?? []) state.tags.set(t.key, t.value);
    state.metrics.push(...(body.metrics ?? []));
    return c.json({});
  });
  app.put("/api/2.0/mlflow-artifacts/artifacts/:exp/:run/artifacts/*", async (c) => {
    const prefix = `/api/2.0/mlflow-artifacts/artifacts/${c.req.param("exp")}/${c.req.param("run")}/artifacts/`;
    state.artifacts.set(
      `${c.req.param("run")}/${c.req.path.slice(prefix.length)}`,
      new Uint8Array(await c.req.arrayBuffer()),
    );
    return c.json({});
  });
  return { app, state };
}

describe("trainHandler (lambda pipeline step)", () => {
  const { app, state } = mlflowStandIn();
  let server: ReturnType<typeof serve>;
  let url = "";
  let dir = "";
  const data = syntheticData(3000, 4, 17);

  beforeAll(async () => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((r) => server.once("listening", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), "keel-train-"));
    await writeSyntheticParquet(join(dir, "train.parquet"), data, "is_fraud");
  });
  afterAll(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("trains from Parquet and logs params, per-round metrics, the ONNX model and the baseline", async () => {
    const out = await trainHandler({
      trainingSetUri: `file://${join(dir, "train.parquet")}`,
      label: "is_fraud",
      features: data.features,
      params: { rounds: 30, seed: 1 },
      trackingUrl: url,
      experimentId: "7",
    });
    expect(out.runId).toHaveLength(32);
    expect(out.modelUri).toBe(`runs:/${out.runId}/model`);
    expect(out.metrics.valid_auc).toBeGreaterThan(0.9);
    expect(state.runs.get(out.runId)?.status).toBe("FINISHED");
    expect(state.params.get("learningRate")).toBe("0.1");
    expect(state.params.get("algorithm")).toBe("gbdt");
    const steps = state.metrics.filter((m) => m.key === "train_logloss").map((m) => m.step);
    expect(steps.length).toBeGreaterThan(5);
    expect(steps).toEqual(steps.map((_, i) => i));
    expect(state.metrics.some((m) => m.key === "valid_auc")).toBe(true);

    const art = (p: string) => state.artifacts.get(`${out.runId}/${p}`) as Uint8Array;
    const model = parseModel(JSON.parse(Buffer.from(art("model/keel-model.json")).toString()));
    expect(JSON.parse(Buffer.from(art("model/input_schema.json")).toString())).toEqual(inputSchema(model));
    expect(Buffer.from(art("model/MLmodel")).toString()).toContain("data: model.onnx");
    const profile = baselineProfileSchema.parse(
      JSON.parse(Buffer.from(art("baseline/profile.json")).toString()),
    );
    expect(profile.features.map((f) => f.name)).toEqual(data.features);
    expect(profile.features[0].counts.reduce((a, b) => a + b, 0)).toBe(profile.rows);

    // The logged ONNX model scores like the logged TS model.
    const session = await ort.InferenceSession.create(art("model/model.onnx"));
    const x = Float32Array.from([1, -2, 0.5, 3]);
    const score = (await session.run({ features: new ort.Tensor("float32", x, [1, 4]) })).score
      .data[0] as number;
    expect(score).toBeCloseTo(
      predict(
        model,
        Array.from(x, (v) => Float64Array.of(v)),
      )[0],
      5,
    );
  });

  it("reads an s3:// training set through the S3 adapter", async () => {
    const s3 = await startFakeS3();
    try {
      const opts = { endpoint: s3.endpoint, credentials: { accessKeyId: "test", secretAccessKey: "test" } };
      const bucket = new S3Client({
        region: "us-east-1",
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: opts.credentials,
      });
      await bucket.send(new CreateBucketCommand({ Bucket: "datasets" }));
      bucket.destroy();
      await createArtifactStore("s3://datasets", opts).put(
        "sets/train.parquet",
        await readFile(join(dir, "train.parquet")),
      );
      const out = await trainHandler(
        {
          trainingSetUri: "s3://datasets/sets/train.parquet",
          label: "is_fraud",
          features: data.features,
          algorithm: "logistic",
          trackingUrl: url,
          experimentId: "7",
        },
        { s3: opts },
      );
      expect(out.metrics.valid_auc).toBeGreaterThan(0.7);
      expect(s3.requests.some((r) => r.startsWith("GET /datasets/sets/train.parquet"))).toBe(true);
    } finally {
      await s3.close();
    }
  });

  it("rejects a bad request naming the problem, before creating a run", async () => {
    const runs = state.runs.size;
    await expect(
      trainHandler({
        trainingSetUri: join(dir, "train.parquet"),
        label: "is_fraud",
        features: ["nope"],
        trackingUrl: url,
        experimentId: "7",
      }),
    ).rejects.toThrow(/no column\(s\) 'nope'/);
    await expect(
      trainHandler({ label: "is_fraud", features: ["f0"], trackingUrl: url, experimentId: "7" }),
    ).rejects.toThrow(/trainingSetUri/);
    await expect(
      trainHandler({
        trainingSetUri: join(dir, "train.parquet"),
        label: "is_fraud",
        features: ["f0"],
        params: { rounds: -1 },
        trackingUrl: url,
        experimentId: "7",
      }),
    ).rejects.toThrow(/rounds/);
    expect(state.runs.size).toBe(runs);
  });
});
