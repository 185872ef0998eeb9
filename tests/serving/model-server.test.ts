import { installErrorHandling } from "@keel/core";
import { ModelServer, mountInferenceRoutes, mountRepositoryRoutes, serverApi } from "@keel/serving";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlpReference } from "../../bench/serving-onnx-mlp";
import { listen, rowsRequest, smallConfig, specFor, tempRepository } from "./fixtures";

const repo = tempRepository();
let server: ModelServer;
let url: string;
let close: () => Promise<void>;

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  repo.add(
    "small",
    smallConfig(
      "small",
      "dynamic_batching { max_queue_delay_microseconds: 2000 }\nversion_policy { all {} }",
    ),
    [1, 2],
  );
  repo.add("latest", smallConfig("latest"), [1, 3]);
  repo.add("broken", 'name: "broken"\nplatform: "onnxruntime_onnx"\nsequence_batching { }', [1]);
  server = new ModelServer({ repository: repo.root, intraOpNumThreads: 1 });
  await server.loadRepository();
  const app = new Hono();
  installErrorHandling(app);
  mountInferenceRoutes(app, serverApi(server), { maxBodyBytes: 64 * 1024 });
  mountRepositoryRoutes(app, server);
  const http = await listen(app);
  url = http.url;
  close = async () => {
    await http.close();
    await server.close();
  };
});

afterAll(async () => {
  await close();
  repo.remove();
});

describe("KServe v2 model server over HTTP", () => {
  it("answers server metadata, liveness and readiness", async () => {
    expect((await call("GET", "/v2")).json).toMatchObject({
      name: "keel",
      extensions: ["model_repository", "binary_tensor_data"],
    });
    expect((await call("GET", "/v2/health/live")).status).toBe(200);
    expect((await call("GET", "/v2/health/ready")).status).toBe(200);
  });

  it("describes a model with its versions and batch dimension", async () => {
    const r = await call("GET", "/v2/models/small");
    expect(r.json).toEqual({
      name: "small",
      versions: ["1", "2"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
      outputs: [{ name: "output", datatype: "FP32", shape: [-1, 2] }],
    });
    expect((await call("GET", "/v2/models/small/versions/1/ready")).status).toBe(200);
    expect((await call("GET", "/v2/models/small/versions/9/ready")).status).toBe(400);
  });

  it("applies version_policy latest (default: only the highest version)", async () => {
    expect((await call("GET", "/v2/models/latest")).json.versions).toEqual(["3"]);
  });

  it("infers with nested or flat data and matches the reference forward pass", async () => {
    const rows = [
      [1, 2, 3, 4],
      [0.5, -1, 0, 2],
    ];
    const r = await call("POST", "/v2/models/small/versions/1/infer", rowsRequest(rows, "req-1"));
    expect(r.status).toBe(200);
    expect(r.json.id).toBe("req-1");
    expect(r.json.model_version).toBe("1");
    expect(r.json.outputs[0]).toMatchObject({ name: "output", datatype: "FP32", shape: [2, 2] });
    const expected = rows.flatMap((row) => mlpReference(specFor(1), row));
    r.json.outputs[0].data.forEach((x: number, i: number) => {
      expect(x).toBeCloseTo(expected[i], 4);
    });
    const flat = await call("POST", "/v2/models/small/infer", {
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
      outputs: [{ name: "output" }],
    });
    expect(flat.json.model_version).toBe("2");
    expect(flat.json.outputs[0].data[0]).toBeCloseTo(mlpReference(specFor(2), [1, 2, 3, 4])[0], 4);
  });

  it("batches concurrent requests and keeps each caller's rows", async () => {
    const rows = Array.from({ length: 24 }, (_, i) => [i, i / 2, -i, 1]);
    const answers = await Promise.all(
      rows.map((row, i) => call("POST", "/v2/models/small/versions/1/infer", rowsRequest([row], `r${i}`))),
    );
    answers.forEach((a, i) => {
      expect(a.json.id).toBe(`r${i}`);
      expect(a.json.outputs[0].data[0]).toBeCloseTo(mlpReference(specFor(1), rows[i])[0], 4);
    });
    const metrics = server.metrics.render();
    expect(metrics).toMatch(/keel_inference_request_success_total\{model="small",version="1"\} \d+/);
    expect(metrics).toMatch(/keel_inference_batch_size_bucket\{model="small",version="1",le="1"\}/);
  });

  it("rejects bad tensors with the protocol's error JSON", async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [
        { inputs: [{ name: "nope", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }] },
        400,
        /no input 'nope'/,
      ],
      [
        { inputs: [{ name: "input", datatype: "INT32", shape: [1, 4], data: [1, 2, 3, 4] }] },
        400,
        /expected datatype FP32/,
      ],
      [
        { inputs: [{ name: "input", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }] },
        400,
        /expected shape \[-1,4\]/,
      ],
      [
        { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [1, 2, 3] }] },
        400,
        /needs 4 elements but data has 3/,
      ],
      [
        { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [1, 2, "x", 4] }] },
        400,
        /must be numbers/,
      ],
      [
        { inputs: [{ name: "input", datatype: "FP32", shape: [9, 4], data: new Array(36).fill(0) }] },
        400,
        /exceeds max_batch_size 8/,
      ],
    ];
    for (const [body, status, msg] of cases) {
      const r = await call("POST", "/v2/models/small/infer", body);
      expect(r.status).toBe(status);
      expect(r.json.error).toMatch(msg);
    }
    const badOut = await call("POST", "/v2/models/small/infer", {
      ...rowsRequest([[1, 2, 3, 4]]),
      outputs: [{ name: "zz" }],
    });
    expect(badOut.json.error).toMatch(/no output 'zz'/);
    expect((await call("POST", "/v2/models/small/infer", "{not json")).json.error).toMatch(/malformed JSON/);
    const missingModel = await call("POST", "/v2/models/ghost/infer", rowsRequest([[1, 2, 3, 4]]));
    expect(missingModel.status).toBe(404);
    expect(missingModel.json.error).toMatch(/model 'ghost' is not loaded/);
    expect(
      (await call("POST", "/v2/models/small/versions/7/infer", rowsRequest([[1, 2, 3, 4]]))).json.error,
    ).toMatch(/no version '7'/);
    const big = await call(
      "POST",
      "/v2/models/small/infer",
      rowsRequest(Array.from({ length: 8000 }, () => [1, 2, 3, 4])),
    );
    expect(big.status).toBe(413);
    expect(big.json.error).toMatch(/larger than the limit/);
  });

  it("lists, unloads and reloads models through the repository API", async () => {
    const index = await call("POST", "/v2/repository/index", {});
    expect(index.json).toContainEqual({ name: "small", version: "1", state: "READY" });
    const broken = index.json.find((e: { name: string }) => e.name === "broken");
    expect(broken.state).toBe("UNAVAILABLE");
    expect(broken.reason).toMatch(/field 'sequence_batching' is not supported/);
    expect((await call("POST", "/v2/repository/models/latest/unload")).status).toBe(200);
    expect((await call("GET", "/v2/models/latest/ready")).status).toBe(400);
    expect(
      (await call("POST", "/v2/repository/index", { ready: true })).json.some(
        (e: { name: string }) => e.name === "latest",
      ),
    ).toBe(false);
    expect((await call("POST", "/v2/repository/models/latest/load")).status).toBe(200);
    expect((await call("GET", "/v2/models/latest/ready")).status).toBe(200);
    expect((await call("POST", "/v2/repository/models/absent/load")).status).toBe(404);
  });
});
