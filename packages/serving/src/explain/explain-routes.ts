import { mount, kserveRoutes as r } from "@keel/contract";
import { BoundedCache, parseWith } from "@keel/core";
import type { Context, Hono } from "hono";
import { type Deployment, refLabel, type VersionRef } from "../deployments/deployment-model";
import { badInput, missing } from "../errors";
import type { ModelResolver } from "../ports";
import { readJson, v2Error } from "../protocol/kserve-routes";
import type { InferOutput, InferRequest } from "../protocol/protocol";
import { decodeTensor } from "../protocol/tensors";
import { type Router, routerRequestSchema } from "../router/router";

/**
 * Computes per-feature contributions for a model version (the training area's TreeSHAP and
 * linear contributions, wired by the platform). Serving only finds the model and the input.
 */
export interface ModelExplainer {
  /**
   * Explains a row-major `[N, F]` input with the model described by `modelJson` (the
   * `keel-model.json` logged next to the ONNX file). Returns v2 output tensors. Throws a
   * KeelError INVALID_PARAMETER_VALUE when the input does not fit the model.
   */
  explain(modelJson: unknown, data: ArrayLike<number>, shape: number[]): InferOutput[];
}

/** The model description Keel's trainer logs beside `model.onnx`. */
export const EXPLAINABLE_MODEL_FILE = "keel-model.json";

export interface ExplainRouteDeps {
  router: Router;
  resolver?: ModelResolver;
  artifacts: { getBytes(path: string): Promise<Buffer> };
  explainer: ModelExplainer;
}

/** Explains one prepared request (a single `[rows, features]` tensor) with one version. */
export type VersionExplainer = (ref: VersionRef, request: InferRequest) => Promise<InferOutput[]>;

/**
 * The explanation of a request by a version: loads (and keeps, versions being immutable) the
 * version's `keel-model.json`, then runs the explainer. Shared by `/explain` and by infer
 * requests that ask for their explanation to be stored with the prediction log.
 */
export function createVersionExplainer(deps: Omit<ExplainRouteDeps, "router">): VersionExplainer {
  /** Parsed `keel-model.json` by model version: the 64 most recently explained. */
  const models = new BoundedCache<string, Promise<unknown>>({ maxEntries: 64 });
  const modelJson = (ref: VersionRef) => {
    const key = refLabel(ref);
    let p = models.get(key);
    if (!p) {
      p = loadModelJson(deps, ref);
      p.catch(() => models.delete(key));
      models.set(key, p);
    }
    return p;
  };
  return async (ref, request) => {
    if (request.inputs.length !== 1)
      throw badInput(`explain takes one input tensor [rows, features], got ${request.inputs.length}`);
    const t = decodeTensor(request.inputs[0]);
    return deps.explainer.explain(await modelJson(ref), t.data as ArrayLike<number>, t.shape);
  };
}

/**
 * `POST /v2/models/{deployment}[/versions/{v}]/explain`: the same body as infer (tensors, or
 * entity ids the router enriches from the feature store); answers per-feature contributions
 * of the deployment's stable version (or the named one) for every row.
 */
export function mountExplainRoutes(
  app: Hono,
  deps: ExplainRouteDeps,
  explainVersion = createVersionExplainer(deps),
): void {
  const explain = async (name: string, version: string | undefined, body: unknown) => {
    const dep = await deps.router.lookup(name);
    if (!dep) throw missing(`'${name}' is not a deployment; explanations are served for deployments`);
    const ref = versionOf(dep, version);
    const req = parseWith(routerRequestSchema, body, "explain request");
    const request = req.entities ? await deps.router.enrich(dep, req) : (req as InferRequest);
    const outputs = await explainVersion(ref, request);
    return {
      model_name: ref.model,
      model_version: ref.version,
      id: req.id,
      parameters: { deployment: dep.name },
      outputs,
    };
  };
  const handler = async (c: Context) => {
    try {
      const body = await readJson(c);
      return c.json(await explain(c.req.param("model") as string, c.req.param("version"), body));
    } catch (e) {
      return v2Error(c, e);
    }
  };
  mount(app, r.explain, (_, c) => handler(c));
  mount(app, r.explainVersion, (_, c) => handler(c));
}

function versionOf(dep: Deployment, version: string | undefined): VersionRef {
  if (version === undefined) return dep.stable;
  const ref = [dep.stable, dep.canary].find((r) => r?.version === version);
  if (!ref) throw missing(`deployment '${dep.name}' does not route to version '${version}'`);
  return ref;
}

async function loadModelJson(deps: Omit<ExplainRouteDeps, "router">, ref: VersionRef): Promise<unknown> {
  if (ref.backend.type !== "local" || !deps.resolver)
    throw badInput(`${refLabel(ref)} is not served from Keel's registry here, so it cannot be explained`);
  const { artifactPath } = await deps.resolver.resolve(ref.model, ref.version);
  const path = artifactPath.replace(/[^/]*$/, EXPLAINABLE_MODEL_FILE);
  let bytes: Buffer;
  try {
    bytes = await deps.artifacts.getBytes(path);
  } catch {
    throw badInput(
      `${refLabel(ref)} has no ${EXPLAINABLE_MODEL_FILE} beside its ONNX file: only models trained by Keel can be explained`,
    );
  }
  return JSON.parse(bytes.toString("utf8"));
}
