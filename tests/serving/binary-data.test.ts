import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeBinaryResponse, encodeBinaryRequest, type InferResponse } from "@keel/serving";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIdentity, mlpReference } from "../../bench/serving-onnx-mlp";
import { smallConfig, specFor, tempRepository } from "./fixtures";
import { startServing } from "./harness";

const repo = tempRepository();
let h: Awaited<ReturnType<typeof startServing>>;

/** POSTs a raw body with Inference-Header-Content-Length; decodes a binary answer. */
async function post(path: string, body: Uint8Array, headerLength: number | string) {
  const res = await fetch(`${h.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(headerLength),
    },
    body,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const length = res.headers.get("inference-header-content-length");
  let json: InferResponse & { error?: string };
  if (length !== null) json = decodeBinaryResponse(bytes, length) as typeof json;
  else json = JSON.parse(new TextDecoder().decode(bytes));
  return { status: res.status, binary: length !== null, type: res.headers.get("content-type"), json };
}

function binary(req: Parameters<typeof encodeBinaryRequest>[0] & Record<string, unknown>) {
  const { body, headerLength } = encodeBinaryRequest(req);
  return { body, headerLength };
}

const rows = [
  [1, 2, 3, 4],
  [0.5, -1, 0, 2],
];
const ids = [1n, -2n, 9_007_199_254_740_993n, 4n, 5n, 6n];
const words = ["héllo", "", "tensor", "x"];

beforeAll(async () => {
  repo.add("mlp", smallConfig("mlp", "dynamic_batching { }"), [1]);
  mkdirSync(join(repo.root, "ident", "1"), { recursive: true });
  writeFileSync(
    join(repo.root, "ident", "config.pbtxt"),
    'name: "ident"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\n',
  );
  writeFileSync(
    join(repo.root, "ident", "1", "model.onnx"),
    buildIdentity([
      { name: "x", type: "FP32", width: 4 },
      { name: "ids", type: "INT64", width: 3 },
      { name: "s", type: "BYTES", width: 2 },
    ]),
  );
  h = await startServing(repo.root, { maxBodyBytes: 1024 * 1024 });
});

afterAll(async () => {
  await h.close();
  repo.remove();
});

describe("KServe v2 binary tensor data extension", () => {
  it("runs FP32 binary inputs and answers JSON unless binary output is asked", async () => {
    const { body, headerLength } = binary({
      inputs: [{ name: "input", datatype: "FP32", shape: [2, 4], data: new Float32Array(rows.flat()) }],
    });
    const r = await post("/v2/models/mlp/infer", body, headerLength);
    expect(r.status).toBe(200);
    expect(r.binary).toBe(false);
    const expected = rows.flatMap((row) => mlpReference(specFor(1), row));
    const got = r.json.outputs[0].data as number[];
    expect(got).toHaveLength(expected.length);
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(expected[i], 4);
  });

  it("round-trips FP32, INT64 and BYTES in binary (request-level binary_data_output)", async () => {
    const { body, headerLength } = binary({
      parameters: { binary_data_output: true },
      inputs: [
        {
          name: "x",
          datatype: "FP32",
          shape: [2, 4],
          data: new Float32Array([1.5, -2, 3, 4, 5, 6, 7, 8.25]),
        },
        { name: "ids", datatype: "INT64", shape: [2, 3], data: new BigInt64Array(ids) },
        { name: "s", datatype: "BYTES", shape: [2, 2], data: words },
      ],
    });
    const r = await post("/v2/models/ident/versions/1/infer", body, headerLength);
    expect(r.status).toBe(200);
    expect(r.binary).toBe(true);
    expect(r.type).toBe("application/octet-stream");
    const out = Object.fromEntries(r.json.outputs.map((o) => [o.name, o]));
    expect(Array.from(out.x_out.data as unknown as Float32Array)).toEqual([1.5, -2, 3, 4, 5, 6, 7, 8.25]);
    expect(out.x_out.parameters).toEqual({ binary_data_size: 32 });
    expect(Array.from(out.ids_out.data as unknown as BigInt64Array)).toEqual(ids);
    expect(out.s_out.data).toEqual(words);
    expect(out.s_out.shape).toEqual([2, 2]);
  });

  it("mixes JSON and binary inputs, and per-output binary_data", async () => {
    const { body, headerLength } = binary({
      inputs: [
        { name: "x", datatype: "FP32", shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
        { name: "s", datatype: "BYTES", shape: [1, 2], data: ["a", "b"] },
      ],
    });
    // Splice a JSON input into the header: the binary bytes stay where they are.
    const header = JSON.parse(new TextDecoder().decode(body.subarray(0, headerLength)));
    header.inputs.splice(1, 0, { name: "ids", datatype: "INT64", shape: [1, 3], data: [7, 8, 9] });
    header.outputs = [
      { name: "ids_out", parameters: { binary_data: true } },
      { name: "s_out" },
      { name: "x_out", parameters: { binary_data: false } },
    ];
    const head = new TextEncoder().encode(JSON.stringify(header));
    const mixed = new Uint8Array([...head, ...body.subarray(headerLength)]);
    const r = await post("/v2/models/ident/infer", mixed, head.byteLength);
    expect(r.status).toBe(200);
    expect(r.binary).toBe(true);
    const [ids_out, s_out, x_out] = r.json.outputs;
    expect(Array.from(ids_out.data as unknown as BigInt64Array)).toEqual([7n, 8n, 9n]);
    expect(s_out).toMatchObject({ name: "s_out", data: ["a", "b"] });
    expect(s_out.parameters).toBeUndefined();
    expect(x_out.data).toEqual([1, 2, 3, 4]);
  });

  it("answers malformed lengths and payloads with 400, never 500", async () => {
    const good = binary({
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) }],
    });
    const text = new TextDecoder().decode(good.body.subarray(0, good.headerLength));
    const withSize = (size: unknown) => {
      const head = new TextEncoder().encode(
        text.replace('"binary_data_size":16', `"binary_data_size":${JSON.stringify(size)}`),
      );
      return {
        body: new Uint8Array([...head, ...good.body.subarray(good.headerLength)]),
        n: head.byteLength,
      };
    };
    const cases: Array<[Uint8Array, number | string, string]> = [
      [good.body, "abc", "non-negative integer"],
      [good.body, -1, "non-negative integer"],
      [good.body, 0, "required"],
      [good.body, good.body.byteLength + 1, "only"],
      [good.body, good.headerLength - 3, "malformed JSON"],
      [good.body.subarray(0, good.body.byteLength - 2), good.headerLength, "runs past"],
      [new Uint8Array([...good.body, 0, 0, 0, 0]), good.headerLength, "does not add up"],
      [withSize(12).body, withSize(12).n, "needs 16 bytes"],
      [withSize(-4).body, withSize(-4).n, "non-negative integer"],
      [withSize("16").body, withSize("16").n, "non-negative integer"],
    ];
    for (const [body, n, message] of cases) {
      const r = await post("/v2/models/mlp/infer", body, n);
      expect({ n, status: r.status }).toEqual({ n, status: 400 });
      expect(r.json.error).toContain(message);
    }
    // A BYTES element whose length prefix runs past its tensor's bytes.
    const bad = binary({ inputs: [{ name: "s", datatype: "BYTES", shape: [1, 1], data: ["abc"] }] });
    bad.body[bad.headerLength] = 200;
    const r = await post("/v2/models/ident/infer", bad.body, bad.headerLength);
    expect(r.status).toBe(400);
    expect(r.json.error).toContain("runs past");
  });

  it("refuses bodies over the size limit with 413", async () => {
    const n = 2 * 1024 * 1024; // the limit set above is 1 MiB
    const { body, headerLength } = binary({
      inputs: [{ name: "input", datatype: "FP32", shape: [n / 4, 4], data: new Float32Array(n) }],
    });
    const r = await post("/v2/models/mlp/infer", body, headerLength);
    expect(r.status).toBe(413);
  });

  it("checks chunked bodies (no Content-Length) as they stream: over the limit 413, under it served", async () => {
    const chunked = (bytes: Uint8Array, headerLength: number) =>
      fetch(`${h.url}/v2/models/mlp/infer`, {
        method: "POST",
        headers: { "inference-header-content-length": String(headerLength) },
        body: new ReadableStream({
          start(c) {
            for (let i = 0; i < bytes.byteLength; i += 64 * 1024) c.enqueue(bytes.subarray(i, i + 64 * 1024));
            c.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
    const n = 2 * 1024 * 1024;
    const big = binary({
      inputs: [{ name: "input", datatype: "FP32", shape: [n / 4, 4], data: new Float32Array(n) }],
    });
    const refused = await chunked(big.body, big.headerLength);
    expect(refused.status).toBe(413);
    expect(refused.headers.get("content-length")).not.toBeNull();
    const small = binary({
      inputs: [{ name: "input", datatype: "FP32", shape: [2, 4], data: new Float32Array(rows.flat()) }],
    });
    const ok = await chunked(small.body, small.headerLength);
    expect(ok.status).toBe(200);
    const got = ((await ok.json()) as InferResponse).outputs[0].data as number[];
    expect(got[0]).toBeCloseTo(mlpReference(specFor(1), rows[0])[0], 4);
  });

  it("goes through the router: a deployment answers binary requests in binary", async () => {
    expect(
      (await h.call("POST", "/api/v1/deployments", { name: "ident-live", model: "ident", version: "1" }))
        .status,
    ).toBe(201);
    const { body, headerLength } = binary({
      parameters: { binary_data_output: true },
      inputs: [
        { name: "x", datatype: "FP32", shape: [1, 4], data: new Float32Array([4, 3, 2, 1]) },
        { name: "ids", datatype: "INT64", shape: [1, 3], data: new BigInt64Array([1n, 2n, 3n]) },
        { name: "s", datatype: "BYTES", shape: [1, 2], data: ["p", "q"] },
      ],
    });
    const r = await post("/v2/models/ident-live/infer", body, headerLength);
    expect(r.status).toBe(200);
    expect(r.binary).toBe(true);
    const out = Object.fromEntries(r.json.outputs.map((o) => [o.name, o.data as unknown]));
    expect(Array.from(out.x_out as Float32Array)).toEqual([4, 3, 2, 1]);
    expect(Array.from(out.ids_out as BigInt64Array)).toEqual([1n, 2n, 3n]);
    expect(out.s_out).toEqual(["p", "q"]);
  });
});
