import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { HEADER_LENGTH } from "./binary-data";

/**
 * The KServe v2 gRPC API (the protocol's own grpc_predict_v2.proto) as a transport in front
 * of Keel's HTTP app: every RPC becomes the matching `/v2` request, handed to the same
 * `fetch` that serves HTTP (ModelInfer in the binary tensor data extension). So gRPC takes
 * the same path as REST: request guards, identity (the `authorization` metadata is the
 * Authorization header; `keel dev --auth` refuses a call without a token), the route's
 * permission, the router and its deployments, or the model server alone under `keel serve`.
 */

export const PROTO_PATH = join(import.meta.dirname, "../../proto/grpc_predict_v2.proto");

/** Metadata passed on as HTTP headers; nothing else a caller sends reaches the app. */
const FORWARDED = ["authorization", "x-keel-route-key", "x-keel-principal"];

const STATUS: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  413: grpc.status.RESOURCE_EXHAUSTED,
  415: grpc.status.INVALID_ARGUMENT,
  429: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
  504: grpc.status.DEADLINE_EXCEEDED,
};

type Fetch = (req: Request) => Response | Promise<Response>;
type Json = Record<string, unknown>;

interface Parameter {
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
  parameter_choice?: string;
}

interface InputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, Parameter>;
  contents?: Record<string, unknown[]> | null;
}

interface InferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, Parameter>;
  inputs: InputTensor[];
  outputs: Array<{ name: string; parameters?: Record<string, Parameter> }>;
  raw_input_contents: Buffer[];
}

/** A gRPC error carrying the status the HTTP answer maps to. */
class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

function parameterValue(p: Parameter): unknown {
  const choice = p.parameter_choice;
  return choice ? p[choice as keyof Parameter] : (p.bool_param ?? p.int64_param ?? p.string_param);
}

function parameters(map: Record<string, Parameter> | undefined): Json | undefined {
  const entries = Object.entries(map ?? {});
  return entries.length ? Object.fromEntries(entries.map(([k, v]) => [k, parameterValue(v)])) : undefined;
}

function toParameters(json: unknown): Record<string, Parameter> {
  const out: Record<string, Parameter> = {};
  for (const [k, v] of Object.entries((json as Json | undefined) ?? {})) {
    if (typeof v === "boolean") out[k] = { bool_param: v };
    else if (typeof v === "number" && Number.isInteger(v)) out[k] = { int64_param: v };
    else if (v !== undefined) out[k] = { string_param: typeof v === "string" ? v : JSON.stringify(v) };
  }
  return out;
}

const CONTENTS: Record<string, string> = {
  BOOL: "bool_contents",
  INT8: "int_contents",
  INT16: "int_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  UINT8: "uint_contents",
  UINT16: "uint_contents",
  UINT32: "uint_contents",
  UINT64: "uint64_contents",
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  BYTES: "bytes_contents",
};

/** A ModelInfer message as a binary-extension HTTP body (raw contents stay raw bytes). */
export function inferBody(msg: InferRequestMessage): { body: Uint8Array; headerLength: number } {
  const raw = msg.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== msg.inputs.length)
    throw new RpcError(
      grpc.status.INVALID_ARGUMENT,
      `raw_input_contents has ${raw.length} entries for ${msg.inputs.length} inputs`,
    );
  const inputs = msg.inputs.map((t, i) => {
    const base: Json = { name: t.name, datatype: t.datatype, shape: t.shape };
    const params = parameters(t.parameters) ?? {};
    if (raw.length > 0) return { ...base, parameters: { ...params, binary_data_size: raw[i].byteLength } };
    const field = CONTENTS[t.datatype];
    const values = field ? t.contents?.[field] : undefined;
    if (!values)
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        `input '${t.name}': no contents (send ${field ?? "raw_input_contents"} or raw_input_contents)`,
      );
    const data = t.datatype === "BYTES" ? (values as Buffer[]).map((b) => b.toString("utf8")) : values;
    return { ...base, ...(Object.keys(params).length ? { parameters: params } : {}), data };
  });
  const header = {
    ...(msg.id ? { id: msg.id } : {}),
    // Outputs always come back raw: that is what raw_output_contents carries.
    parameters: { ...parameters(msg.parameters), binary_data_output: true },
    inputs,
    ...(msg.outputs?.length
      ? {
          outputs: msg.outputs.map((o) => ({
            name: o.name,
            parameters: { ...parameters(o.parameters), binary_data: true },
          })),
        }
      : {}),
  };
  const head = Buffer.from(JSON.stringify(header));
  const body = Buffer.concat([head, ...raw]);
  return { body, headerLength: head.byteLength };
}

/** A binary-extension HTTP answer as a ModelInfer response: output bytes become raw_output_contents. */
export function inferResponse(body: Uint8Array, headerLength: number): Json {
  const res = JSON.parse(Buffer.from(body.buffer, body.byteOffset, headerLength).toString("utf8")) as {
    model_name: string;
    model_version?: string;
    id?: string;
    parameters?: Json;
    outputs: Array<{ name: string; datatype: string; shape: number[]; parameters?: Json }>;
  };
  let off = headerLength;
  const raw: Buffer[] = [];
  const outputs = res.outputs.map((o) => {
    const { binary_data_size: size, ...rest } = o.parameters ?? {};
    raw.push(Buffer.from(body.buffer, body.byteOffset + off, Number(size)));
    off += Number(size);
    return { name: o.name, datatype: o.datatype, shape: o.shape, parameters: toParameters(rest) };
  });
  return {
    model_name: res.model_name,
    model_version: res.model_version ?? "",
    id: res.id ?? "",
    parameters: toParameters(res.parameters),
    outputs,
    raw_output_contents: raw,
  };
}

/** Calls the HTTP app; a non-2xx answer becomes the matching gRPC error. */
async function call(
  fetch: Fetch,
  metadata: grpc.Metadata,
  method: string,
  path: string,
  body?: { body: Uint8Array; headerLength: number },
): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED) {
    const v = metadata.get(name)[0];
    if (typeof v === "string") headers[name] = v;
  }
  if (body) {
    headers["content-type"] = "application/octet-stream";
    headers[HEADER_LENGTH] = String(body.headerLength);
  }
  const res = await fetch(
    new Request(`http://grpc.local${path}`, {
      method,
      headers,
      body: body ? (body.body as Uint8Array<ArrayBuffer>) : undefined,
    }),
  );
  return res;
}

async function fail(res: Response): Promise<never> {
  const text = await res.text();
  let message = `HTTP ${res.status}`;
  try {
    const j = JSON.parse(text) as { error?: unknown; message?: unknown };
    const m = j.error ?? j.message;
    if (typeof m === "string") message = m;
    else if (m && typeof m === "object" && typeof (m as Json).message === "string")
      message = (m as Json).message as string;
  } catch {
    // not JSON: keep the status line
  }
  throw new RpcError(STATUS[res.status] ?? grpc.status.INTERNAL, message);
}

const modelPath = (name: string, version: string) =>
  `/v2/models/${encodeURIComponent(name)}${version ? `/versions/${encodeURIComponent(version)}` : ""}`;

function unary<Req>(
  fn: (req: Req, metadata: grpc.Metadata) => Promise<unknown>,
): grpc.handleUnaryCall<Req, unknown> {
  return (callObj, done) => {
    fn(callObj.request, callObj.metadata).then(
      (res) => done(null, res),
      (e: unknown) =>
        done(
          e instanceof RpcError
            ? { code: e.code, details: e.message }
            : { code: grpc.status.INTERNAL, details: "internal error" },
        ),
    );
  };
}

export interface GrpcServerOptions {
  /** The HTTP app's fetch (the platform's, or `keel serve`'s). */
  fetch: Fetch;
  port: number;
  host?: string;
  /** The largest message accepted (the HTTP body limit applies as well). */
  maxMessageBytes?: number;
}

export interface GrpcServer {
  port: number;
  close(): Promise<void>;
}

function loadService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync(PROTO_PATH, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } };
  };
  return pkg.inference.GRPCInferenceService.service;
}

/** Starts the gRPC server on host:port (port 0: any free port) with insecure (plaintext) credentials. */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const max = opts.maxMessageBytes ?? 32 * 1024 * 1024;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": max,
    "grpc.max_send_message_length": max,
  });
  const get = async (md: grpc.Metadata, path: string) => {
    const res = await call(opts.fetch, md, "GET", path);
    if (!res.ok) await fail(res);
    return (await res.json()) as Json;
  };
  const status = async (md: grpc.Metadata, path: string) => {
    const res = await call(opts.fetch, md, "GET", path);
    await res.arrayBuffer();
    return res.status;
  };
  server.addService(loadService(), {
    ServerLive: unary(async (_, md) => ({ live: (await status(md, "/v2/health/live")) === 200 })),
    ServerReady: unary(async (_, md) => ({ ready: (await status(md, "/v2/health/ready")) === 200 })),
    ModelReady: unary(async (req: { name: string; version: string }, md) => {
      const res = await call(opts.fetch, md, "GET", `${modelPath(req.name, req.version)}/ready`);
      // The protocol's REST form answers "not ready" with a 400; other errors stay errors.
      if (res.ok || res.status === 400) {
        await res.arrayBuffer();
        return { ready: res.ok };
      }
      return fail(res);
    }),
    ServerMetadata: unary(async (_, md) => get(md, "/v2")),
    ModelMetadata: unary(async (req: { name: string; version: string }, md) =>
      get(md, modelPath(req.name, req.version)),
    ),
    ModelInfer: unary(async (req: InferRequestMessage, md) => {
      const res = await call(
        opts.fetch,
        md,
        "POST",
        `${modelPath(req.model_name, req.model_version)}/infer`,
        inferBody(req),
      );
      if (!res.ok) await fail(res);
      const length = res.headers.get(HEADER_LENGTH);
      const body = new Uint8Array(await res.arrayBuffer());
      if (length === null) throw new RpcError(grpc.status.INTERNAL, "internal error");
      return inferResponse(body, Number(length));
    }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${opts.host ?? "127.0.0.1"}:${opts.port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    ),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 5_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
