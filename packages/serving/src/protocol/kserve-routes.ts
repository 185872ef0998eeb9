import { mount, kserveRoutes as r } from "@keel/contract";
import { httpStatusFor, isKeelError, log, parseWith } from "@keel/core";
import type { Context, Hono } from "hono";
import { ServingError } from "../errors";
import type { ServingMetrics } from "../metrics/metrics";
import type { ModelServer } from "../model-server/model-server";
import { binaryOutputs, decodeBinaryRequest, encodeBinaryResponse, HEADER_LENGTH } from "./binary-data";
import { bodySizeLimit } from "./body-size-limit";
import { type InferResponse, inferRequestSchema, type ModelMetadata } from "./protocol";

/** What the protocol's model endpoints call: the model server itself, or the router in front of it. */
export interface InferenceApi {
  metadata(model: string, version?: string): Promise<ModelMetadata>;
  ready(model: string, version?: string): Promise<boolean>;
  /**
   * Parses the JSON body (`readInferBody` output) with its own schema and runs it. With
   * `ctx.raw`, output data may come back as typed arrays (the answer is written in binary).
   */
  infer(
    model: string,
    version: string | undefined,
    body: unknown,
    ctx: { routeKey?: string; raw?: boolean },
  ): Promise<InferResponse>;
}

export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/** The protocol's error JSON (`{"error": "..."}`) with the status Keel's error codes map to. */
export function v2Error(c: Context, e: unknown): Response {
  if (isKeelError(e)) return c.json({ error: e.message }, httpStatusFor(e.code) as 400);
  log.error("inference failed", {
    err: e instanceof Error ? (e.stack ?? e.message) : String(e),
    path: c.req.path,
  });
  return c.json({ error: "internal error" }, 500);
}

function v2<T extends Context>(fn: (c: T) => Promise<Response>) {
  return async (c: T) => {
    try {
      return await fn(c);
    } catch (e) {
      return v2Error(c, e);
    }
  };
}

/** Parses a JSON body for a v2 endpoint; malformed JSON is a 400 naming the problem. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "")
    throw new ServingError(
      "INVALID_PARAMETER_VALUE",
      "request body is empty; expected a JSON inference request",
    );
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ServingError("INVALID_PARAMETER_VALUE", `malformed JSON body: ${(e as Error).message}`);
  }
}

/** An infer body: JSON, or the binary tensor data extension when Inference-Header-Content-Length is set. */
export async function readInferBody(c: Context): Promise<unknown> {
  const headerLength = c.req.header(HEADER_LENGTH);
  if (headerLength === undefined) return readJson(c);
  return decodeBinaryRequest(new Uint8Array(await c.req.arrayBuffer()), headerLength);
}

/** Answers an infer request in JSON, or in the binary extension's form when the request asks. */
export function inferAnswer(
  c: Context,
  binary: ((name: string) => boolean) | undefined,
  res: InferResponse,
): Response {
  if (!binary) return c.json(res);
  const { body, headerLength } = encodeBinaryResponse(res, binary);
  return c.body(body as Uint8Array<ArrayBuffer>, 200, {
    "content-type": "application/octet-stream",
    [HEADER_LENGTH]: String(headerLength),
  });
}

/**
 * Mounts the Open Inference Protocol REST endpoints (server and model metadata, health,
 * readiness, infer) on an app, answering through `api`. Bodies over `maxBodyBytes` get 413.
 */
export function mountInferenceRoutes(
  app: Hono,
  api: InferenceApi,
  opts: { maxBodyBytes?: number; serverReady?: () => boolean; extensions?: string[] } = {},
): void {
  const maxSize = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const limit = bodySizeLimit({
    maxSize,
    onError: (c) => c.json({ error: `request body is larger than the limit of ${maxSize} bytes` }, 413),
  });
  mount(app, r.serverMetadata, () => ({
    name: "keel",
    version: "0.1.0",
    extensions: [...(opts.extensions ?? ["model_repository"]), "binary_tensor_data"],
  }));
  mount(app, r.live, () => ({ live: true }));
  mount(app, r.ready, (_, c) => {
    const ready = opts.serverReady?.() ?? true;
    return c.json({ ready }, ready ? 200 : 503);
  });
  const metadata = v2(async (c) =>
    c.json(await api.metadata(c.req.param("model") as string, c.req.param("version"))),
  );
  mount(app, r.modelMetadata, (_, c) => metadata(c));
  mount(app, r.modelVersionMetadata, (_, c) => metadata(c));
  const ready = v2(async (c) => {
    const name = c.req.param("model") as string;
    const ok = await api.ready(name, c.req.param("version"));
    // The protocol: 200 means ready, a 4xx means not ready.
    return c.json({ name, ready: ok }, ok ? 200 : 400);
  });
  mount(app, r.modelReady, (_, c) => ready(c));
  mount(app, r.modelVersionReady, (_, c) => ready(c));
  const infer = v2(async (c) => {
    const body = await readInferBody(c);
    const wants = binaryOutputs(body);
    const routeKey = c.req.header("x-keel-route-key");
    const res = await api.infer(c.req.param("model") as string, c.req.param("version"), body, {
      routeKey,
      raw: wants !== undefined,
    });
    return inferAnswer(c, wants, res);
  });
  mount(app, r.infer, (_, c) => infer(c), limit);
  mount(app, r.inferVersion, (_, c) => infer(c), limit);
}

/** Prometheus metrics in the text exposition format. */
export function mountMetricsRoute(app: Hono, metrics: ServingMetrics): void {
  mount(app, r.metrics, (_, c) =>
    c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );
}

/** Triton's model repository extension: index, load, unload. */
export function mountRepositoryRoutes(
  app: Hono,
  server: ModelServer,
  opts: { onChange?: (action: "load" | "unload", model: string) => Promise<void> } = {},
): void {
  const body = async (c: Context) => {
    const text = await c.req.text();
    if (text.trim() === "") return {};
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new ServingError("INVALID_PARAMETER_VALUE", `malformed JSON body: ${(e as Error).message}`);
    }
  };
  const index = v2(async (c) =>
    c.json(await server.index(parseWith(r.repositoryIndex.body, await body(c), "repository index request"))),
  );
  mount(app, r.repositoryIndex, (_, c) => index(c));
  const load = v2(async (c) => {
    await body(c);
    const model = c.req.param("model") as string;
    await server.load(model);
    await opts.onChange?.("load", model);
    return c.json({});
  });
  mount(app, r.loadModel, (_, c) => load(c));
  const unload = v2(async (c) => {
    const model = c.req.param("model") as string;
    await server.unload(model);
    await opts.onChange?.("unload", model);
    return c.json({});
  });
  mount(app, r.unloadModel, (_, c) => unload(c));
}

/** The model server itself as an InferenceApi. */
export function serverApi(server: ModelServer): InferenceApi {
  return {
    metadata: async (m, v) => server.metadata(m, v),
    ready: async (m, v) => server.isReady(m, v),
    infer: (m, v, body, ctx) =>
      server.infer(m, v, parseWith(inferRequestSchema, body, "inference request"), { raw: ctx.raw }),
  };
}
