import { httpStatusFor, isKeelError, log, parseWith } from "@keel/core";
import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { ServingError } from "./errors";
import type { ServingMetrics } from "./metrics";
import type { ModelServer } from "./model-server";
import { type InferResponse, inferRequestSchema, type ModelMetadata } from "./protocol";

/** What the protocol's model endpoints call: the model server itself, or the router in front of it. */
export interface InferenceApi {
  metadata(model: string, version?: string): Promise<ModelMetadata>;
  ready(model: string, version?: string): Promise<boolean>;
  /** Parses the JSON body (`readJson` output) with its own schema and runs it. */
  infer(
    model: string,
    version: string | undefined,
    body: unknown,
    ctx: { routeKey?: string },
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
  if (c.req.header("inference-header-content-length")) {
    throw new ServingError(
      "INVALID_PARAMETER_VALUE",
      "the binary tensor data extension is not supported; send JSON tensors",
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ServingError("INVALID_PARAMETER_VALUE", `malformed JSON body: ${(e as Error).message}`);
  }
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
  const limit = bodyLimit({
    maxSize,
    onError: (c) => c.json({ error: `request body is larger than the limit of ${maxSize} bytes` }, 413),
  });
  app.get("/v2", (c) =>
    c.json({ name: "keel", version: "0.1.0", extensions: opts.extensions ?? ["model_repository"] }),
  );
  app.get("/v2/health/live", (c) => c.json({ live: true }));
  app.get("/v2/health/ready", (c) => {
    const ready = opts.serverReady?.() ?? true;
    return c.json({ ready }, ready ? 200 : 503);
  });
  const metadata = v2(async (c) =>
    c.json(await api.metadata(c.req.param("model") as string, c.req.param("version"))),
  );
  app.get("/v2/models/:model", metadata);
  app.get("/v2/models/:model/versions/:version", metadata);
  const ready = v2(async (c) => {
    const name = c.req.param("model") as string;
    const ok = await api.ready(name, c.req.param("version"));
    // The protocol: 200 means ready, a 4xx means not ready.
    return c.json({ name, ready: ok }, ok ? 200 : 400);
  });
  app.get("/v2/models/:model/ready", ready);
  app.get("/v2/models/:model/versions/:version/ready", ready);
  const infer = v2(async (c) => {
    const body = await readJson(c);
    const routeKey = c.req.header("x-keel-route-key");
    return c.json(
      await api.infer(c.req.param("model") as string, c.req.param("version"), body, { routeKey }),
    );
  });
  app.post("/v2/models/:model/infer", limit, infer);
  app.post("/v2/models/:model/versions/:version/infer", limit, infer);
}

const indexBody = z.object({ ready: z.boolean().optional() });

/** Prometheus metrics in the text exposition format. */
export function mountMetricsRoute(app: Hono, metrics: ServingMetrics): void {
  app.get("/metrics", (c) => c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }));
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
  app.post(
    "/v2/repository/index",
    v2(async (c) =>
      c.json(await server.index(parseWith(indexBody, await body(c), "repository index request"))),
    ),
  );
  app.post(
    "/v2/repository/models/:model/load",
    v2(async (c) => {
      await body(c);
      const model = c.req.param("model") as string;
      await server.load(model);
      await opts.onChange?.("load", model);
      return c.json({});
    }),
  );
  app.post(
    "/v2/repository/models/:model/unload",
    v2(async (c) => {
      const model = c.req.param("model") as string;
      await server.unload(model);
      await opts.onChange?.("unload", model);
      return c.json({});
    }),
  );
}

/** The model server itself as an InferenceApi. */
export function serverApi(server: ModelServer): InferenceApi {
  return {
    metadata: async (m, v) => server.metadata(m, v),
    ready: async (m, v) => server.isReady(m, v),
    infer: (m, v, body) => server.infer(m, v, parseWith(inferRequestSchema, body, "inference request")),
  };
}
