import { z } from "zod";
import { inferResponseSchema, modelMetadataSchema, routerRequestSchema } from "./kserve-protocol";
import { defineRoute } from "./route";

/**
 * The Open Inference Protocol (KServe v2) as Keel serves it: server and model metadata,
 * health, infer and explain, Triton's repository extension, Prometheus metrics. Errors are
 * the protocol's `{"error": "..."}` with the status Keel's codes map to; the handlers read
 * the body themselves so that malformed JSON answers that way too. Infer also takes and
 * answers KServe's binary tensor data extension (`Inference-Header-Content-Length`: a JSON
 * header, then raw tensor bytes, as application/octet-stream); the schemas document the JSON.
 */
const tags = ["KServe v2"] as const;
const model = z.object({ model: z.string() });
const modelVersion = z.object({ model: z.string(), version: z.string() });
const INFER_ERRORS = [
  "INVALID_PARAMETER_VALUE",
  "RESOURCE_DOES_NOT_EXIST",
  "PAYLOAD_TOO_LARGE",
  "TEMPORARILY_UNAVAILABLE",
  "DEADLINE_EXCEEDED",
] as const;
const readyAnswer = z.object({ name: z.string(), ready: z.boolean() });
const explainAnswer = inferResponseSchema;

export const kserveRoutes = {
  serverMetadata: defineRoute({
    id: "kserve.serverMetadata",
    method: "GET",
    path: "/v2",
    summary: "Server metadata",
    tags,
    response: z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) }),
    errors: [],
  }),
  live: defineRoute({
    id: "kserve.live",
    method: "GET",
    path: "/v2/health/live",
    summary: "Liveness",
    tags,
    response: z.object({ live: z.boolean() }),
    errors: [],
  }),
  ready: defineRoute({
    id: "kserve.ready",
    method: "GET",
    path: "/v2/health/ready",
    summary: "Readiness (503 until ready)",
    tags,
    response: z.object({ ready: z.boolean() }),
    errors: ["TEMPORARILY_UNAVAILABLE"],
  }),
  modelMetadata: defineRoute({
    id: "kserve.modelMetadata",
    method: "GET",
    path: "/v2/models/:model",
    summary: "Model metadata (a deployment's, through the router)",
    tags,
    params: model,
    response: modelMetadataSchema,
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  modelVersionMetadata: defineRoute({
    id: "kserve.modelVersionMetadata",
    method: "GET",
    path: "/v2/models/:model/versions/:version",
    summary: "Model version metadata",
    tags,
    params: modelVersion,
    response: modelMetadataSchema,
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  modelReady: defineRoute({
    id: "kserve.modelReady",
    method: "GET",
    path: "/v2/models/:model/ready",
    summary: "Model readiness (400 when not ready)",
    tags,
    params: model,
    response: readyAnswer,
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
  modelVersionReady: defineRoute({
    id: "kserve.modelVersionReady",
    method: "GET",
    path: "/v2/models/:model/versions/:version/ready",
    summary: "Model version readiness (400 when not ready)",
    tags,
    params: modelVersion,
    response: readyAnswer,
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
  infer: defineRoute({
    id: "kserve.infer",
    method: "POST",
    path: "/v2/models/:model/infer",
    summary:
      "Inference (a deployment routes it: canary, shadow, feature enrichment); JSON or binary tensor data",
    tags,
    params: model,
    body: routerRequestSchema,
    rawBody: true,
    response: inferResponseSchema,
    errors: INFER_ERRORS,
  }),
  inferVersion: defineRoute({
    id: "kserve.inferVersion",
    method: "POST",
    path: "/v2/models/:model/versions/:version/infer",
    summary: "Inference with one model version; JSON or binary tensor data",
    tags,
    params: modelVersion,
    body: routerRequestSchema,
    rawBody: true,
    response: inferResponseSchema,
    errors: INFER_ERRORS,
  }),
  explain: defineRoute({
    id: "kserve.explain",
    method: "POST",
    path: "/v2/models/:model/explain",
    summary: "Per-feature contributions of a deployment's stable version",
    tags,
    params: model,
    body: routerRequestSchema,
    rawBody: true,
    response: explainAnswer,
    errors: INFER_ERRORS,
  }),
  explainVersion: defineRoute({
    id: "kserve.explainVersion",
    method: "POST",
    path: "/v2/models/:model/versions/:version/explain",
    summary: "Per-feature contributions of one version of a deployment",
    tags,
    params: modelVersion,
    body: routerRequestSchema,
    rawBody: true,
    response: explainAnswer,
    errors: INFER_ERRORS,
  }),
  repositoryIndex: defineRoute({
    id: "kserve.repositoryIndex",
    method: "POST",
    path: "/v2/repository/index",
    summary: "The model repository's models and their state",
    tags,
    body: z.object({ ready: z.boolean().optional() }),
    rawBody: true,
    response: z.array(
      z.looseObject({ name: z.string(), version: z.string().optional(), state: z.string().optional() }),
    ),
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
  loadModel: defineRoute({
    id: "kserve.loadModel",
    method: "POST",
    path: "/v2/repository/models/:model/load",
    summary: "Load a model",
    tags,
    params: model,
    rawBody: true,
    response: z.object({}),
    errors: ["INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"],
  }),
  unloadModel: defineRoute({
    id: "kserve.unloadModel",
    method: "POST",
    path: "/v2/repository/models/:model/unload",
    summary: "Unload a model",
    tags,
    params: model,
    response: z.object({}),
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  metrics: defineRoute({
    id: "kserve.metrics",
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics (text exposition format)",
    tags: ["Metrics"],
    response: z.string(),
    responseType: "text/plain; version=0.0.4",
    errors: [],
  }),
};
