import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { installErrorHandling } from "@keel/core";
import {
  type GrpcServer,
  ModelServer,
  mountInferenceRoutes,
  PROTO_PATH,
  serverApi,
  startGrpcServer,
} from "@keel/serving";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIdentity, mlpReference } from "../../bench/serving-onnx-mlp";
import { exited, KEEL_BIN, startUntil } from "../cli/keel";
import { startTestPlatform } from "../helpers/platform";
import { smallConfig, specFor, tempRepository } from "./fixtures";
import { startServing } from "./harness";

// biome-ignore lint/suspicious/noExplicitAny: the client is generated from the proto at run time
type Client = any;

function client(port: number): Client {
  const def = protoLoader.loadSync(PROTO_PATH, {
    keepCase: true,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  // biome-ignore lint/suspicious/noExplicitAny: generated package
  const pkg = grpc.loadPackageDefinition(def) as any;
  return new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

/** Calls one RPC; resolves with the answer or rejects with the gRPC error. */
function rpc(c: Client, method: string, req: unknown, metadata = new grpc.Metadata()): Promise<Client> {
  return new Promise((resolve, reject) =>
    c[method](req, metadata, (err: grpc.ServiceError | null, res: unknown) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

const f32 = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer);
const bytesElements = (xs: string[]) =>
  Buffer.concat(
    xs.flatMap((s) => {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.byteLength);
      return [len, b];
    }),
  );

const repo = tempRepository();
let model: ModelServer;
let grpcServer: GrpcServer;
let c: Client;

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
      { name: "ids", type: "INT64", width: 2 },
      { name: "s", type: "BYTES", width: 2 },
    ]),
  );
  // `keel serve`'s app: the model server alone.
  model = new ModelServer({ repository: repo.root, intraOpNumThreads: 1 });
  await model.loadRepository();
  const app = new Hono();
  installErrorHandling(app);
  mountInferenceRoutes(app, serverApi(model), { serverReady: () => true });
  grpcServer = await startGrpcServer({ fetch: app.fetch, port: 0 });
  c = client(grpcServer.port);
});

afterAll(async () => {
  c?.close();
  await grpcServer?.close();
  await model?.close();
  repo.remove();
});

describe("KServe v2 gRPC API", () => {
  it("answers liveness, readiness and metadata", async () => {
    expect(await rpc(c, "ServerLive", {})).toEqual({ live: true });
    expect(await rpc(c, "ServerReady", {})).toEqual({ ready: true });
    expect((await rpc(c, "ServerMetadata", {})).extensions).toContain("binary_tensor_data");
    expect(await rpc(c, "ModelReady", { name: "mlp" })).toEqual({ ready: true });
    expect(await rpc(c, "ModelReady", { name: "mlp", version: "7" })).toEqual({ ready: false });
    const meta = await rpc(c, "ModelMetadata", { name: "mlp", version: "1" });
    expect(meta).toMatchObject({
      name: "mlp",
      versions: ["1"],
      inputs: [{ name: "input", datatype: "FP32", shape: ["-1", "4"] }],
    });
  });

  it("infers with raw_input_contents and answers raw_output_contents", async () => {
    const rows = [
      [1, 2, 3, 4],
      [0.5, -1, 0, 2],
    ];
    const res = await rpc(c, "ModelInfer", {
      model_name: "mlp",
      id: "r1",
      inputs: [{ name: "input", datatype: "FP32", shape: [2, 4] }],
      raw_input_contents: [f32(rows.flat())],
    });
    expect(res).toMatchObject({ model_name: "mlp", model_version: "1", id: "r1" });
    expect(res.outputs).toMatchObject([{ name: "output", datatype: "FP32", shape: ["2", "2"] }]);
    const raw: Buffer = res.raw_output_contents[0];
    const got = Array.from(
      new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)),
    );
    const expected = rows.flatMap((r) => mlpReference(specFor(1), r));
    expect(got).toHaveLength(4);
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(expected[i], 4);
  });

  it("round-trips INT64 and BYTES, raw and as typed contents", async () => {
    const ids = new BigInt64Array([9_007_199_254_740_993n, -5n]);
    const raw = await rpc(c, "ModelInfer", {
      model_name: "ident",
      inputs: [
        { name: "ids", datatype: "INT64", shape: [1, 2] },
        { name: "s", datatype: "BYTES", shape: [1, 2] },
      ],
      outputs: [{ name: "s_out" }, { name: "ids_out" }],
      raw_input_contents: [Buffer.from(ids.buffer), bytesElements(["héllo", ""])],
    });
    expect(raw.outputs.map((o: { name: string }) => o.name)).toEqual(["s_out", "ids_out"]);
    expect(Buffer.compare(raw.raw_output_contents[0], bytesElements(["héllo", ""]))).toBe(0);
    expect(Buffer.compare(raw.raw_output_contents[1], Buffer.from(ids.buffer))).toBe(0);
    const typed = await rpc(c, "ModelInfer", {
      model_name: "ident",
      inputs: [
        { name: "ids", datatype: "INT64", shape: [1, 2], contents: { int64_contents: [3, 4] } },
        {
          name: "s",
          datatype: "BYTES",
          shape: [1, 2],
          contents: { bytes_contents: [Buffer.from("a"), Buffer.from("bc")] },
        },
      ],
    });
    const out = Object.fromEntries(
      typed.outputs.map((o: { name: string }, i: number) => [o.name, typed.raw_output_contents[i]]),
    );
    expect(Array.from(new BigInt64Array(new Uint8Array(out.ids_out).buffer))).toEqual([3n, 4n]);
    expect(Buffer.compare(out.s_out, bytesElements(["a", "bc"]))).toBe(0);
  });

  it("maps caller mistakes to INVALID_ARGUMENT and NOT_FOUND, never INTERNAL", async () => {
    const cases: Array<[unknown, grpc.status]> = [
      [
        {
          model_name: "absent",
          inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
          raw_input_contents: [f32([1, 2, 3, 4])],
        },
        grpc.status.NOT_FOUND,
      ],
      [
        {
          model_name: "mlp",
          inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
          raw_input_contents: [f32([1, 2, 3])],
        },
        grpc.status.INVALID_ARGUMENT,
      ],
      [
        {
          model_name: "mlp",
          inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
          raw_input_contents: [f32([1]), f32([2])],
        },
        grpc.status.INVALID_ARGUMENT,
      ],
      [
        { model_name: "mlp", inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }] },
        grpc.status.INVALID_ARGUMENT,
      ],
      [
        {
          model_name: "mlp",
          inputs: [
            { name: "input", datatype: "INT64", shape: [1, 4], contents: { int64_contents: [1, 2, 3, 4] } },
          ],
        },
        grpc.status.INVALID_ARGUMENT,
      ],
    ];
    for (const [req, code] of cases) {
      const err = await rpc(c, "ModelInfer", req).catch((e: grpc.ServiceError) => e);
      expect({ code: err.code, details: typeof err.details }).toEqual({ code, details: "string" });
      expect(err.details).not.toBe("internal error");
    }
  });

  it("goes through the router: a deployment answers ModelInfer", async () => {
    const h = await startServing(repo.root);
    const routed = await startGrpcServer({
      // The serving module's HTTP server, reached over loopback.
      fetch: (req) => fetch(new Request(`${h.url}${new URL(req.url).pathname}`, req)),
      port: 0,
    });
    const rc = client(routed.port);
    try {
      expect(
        (await h.call("POST", "/api/v1/deployments", { name: "mlp-live", model: "mlp", version: "1" }))
          .status,
      ).toBe(201);
      const res = await rpc(rc, "ModelInfer", {
        model_name: "mlp-live",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
        raw_input_contents: [f32([1, 2, 3, 4])],
      });
      const raw: Buffer = res.raw_output_contents[0];
      const got = new Float32Array(new Uint8Array(raw).buffer);
      expect(got[0]).toBeCloseTo(mlpReference(specFor(1), [1, 2, 3, 4])[0], 4);
    } finally {
      rc.close();
      await routed.close();
      await h.close();
    }
  });
});

describe("KServe v2 gRPC API under keel dev --auth", () => {
  it("refuses a call without a Bearer token, checks the permission, and passes a good token", async () => {
    const p = await startTestPlatform({ auth: "users" });
    const g = await startGrpcServer({ fetch: p.platform.app.fetch, port: 0 });
    const gc = client(g.port);
    try {
      const users = p.platform.access.users;
      const viewer = (await users.add("vera", ["viewer"])).token;
      const admin = (await users.add("root", ["admin"])).token;
      const md = (token?: string) => {
        const m = new grpc.Metadata();
        if (token) m.set("authorization", `Bearer ${token}`);
        return m;
      };
      const req = {
        model_name: "absent",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
        raw_input_contents: [f32([1, 2, 3, 4])],
      };
      const codeOf = (token?: string) =>
        rpc(gc, "ModelInfer", req, md(token)).then(
          () => grpc.status.OK,
          (e: grpc.ServiceError) => e.code,
        );
      expect(await codeOf()).toBe(grpc.status.UNAUTHENTICATED);
      expect(await codeOf("not-a-token")).toBe(grpc.status.UNAUTHENTICATED);
      expect(await codeOf(viewer)).toBe(grpc.status.PERMISSION_DENIED);
      // Past identity and permission: the platform says the model does not exist.
      expect(await codeOf(admin)).toBe(grpc.status.NOT_FOUND);
      expect(await rpc(gc, "ServerLive", {})).toEqual({ live: true });
    } finally {
      gc.close();
      await g.close();
      await p.close();
    }
  });
});

describe("keel serve --grpc-port", () => {
  it("serves the repository over gRPC next to HTTP", async () => {
    const { proc, match } = await startUntil(
      process.execPath,
      [
        KEEL_BIN,
        "serve",
        "--model-repository",
        repo.root,
        "--port",
        "0",
        "--grpc-port",
        "0",
        "--threads",
        "1",
      ],
      /gRPC \(KServe v2 GRPCInferenceService\) at [^:]+:(\d+)/,
    );
    const sc = client(Number(match[1]));
    try {
      expect(await rpc(sc, "ServerReady", {})).toEqual({ ready: true });
      const res = await rpc(sc, "ModelInfer", {
        model_name: "mlp",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
        raw_input_contents: [f32([1, 2, 3, 4])],
      });
      const got = new Float32Array(new Uint8Array(res.raw_output_contents[0]).buffer);
      expect(got[0]).toBeCloseTo(mlpReference(specFor(1), [1, 2, 3, 4])[0], 4);
    } finally {
      sc.close();
      proc.kill("SIGTERM");
    }
  });
});

describe("keel dev --grpc-port", () => {
  it("serves the platform's /v2 API over gRPC (laptop mode)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "keel-grpc-dev-"));
    const { proc, match } = await startUntil(
      process.execPath,
      [KEEL_BIN, "dev", "--port", "0", "--grpc-port", "0", "--data-dir", dataDir, "--no-example"],
      /gRPC: +KServe v2 GRPCInferenceService at [^:]+:(\d+)/,
    );
    const dc = client(Number(match[1]));
    try {
      expect(await rpc(dc, "ServerLive", {})).toEqual({ live: true });
      const err = await rpc(dc, "ModelInfer", {
        model_name: "nothing",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
        raw_input_contents: [f32([1, 2, 3, 4])],
      }).catch((e: grpc.ServiceError) => e);
      expect(err.code).toBe(grpc.status.NOT_FOUND);
    } finally {
      dc.close();
      proc.kill("SIGTERM");
      await exited(proc);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
