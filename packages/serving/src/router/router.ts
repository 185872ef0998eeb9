import { createHash } from "node:crypto";
import { routerRequestSchema } from "@keel/contract";
import { BoundedCache, type Clock, type Logger, newToken, parseWith } from "@keel/core";
import type { z } from "zod";
import type { CanaryStats } from "../deployments/canary-analysis";
import {
  DEFAULT_SAMPLE_RATE,
  type Deployment,
  refLabel,
  type VersionRef,
} from "../deployments/deployment-model";
import type { DeploymentService } from "../deployments/deployment-service";
import { badInput, missing, ServingError } from "../errors";
import type { ServingMetrics } from "../metrics/metrics";
import type { ApprovedBytes } from "../model-server/approved-bytes";
import type { FeatureReader, PredictionEntry, PredictionSink } from "../ports";
import { plainTensors } from "../protocol/binary-data";
import type { InferInput, InferOutput, InferRequest, InferResponse } from "../protocol/protocol";
import type { BackendContext } from "./backends/backend-factory";
import { createBackend } from "./backends/backend-factory";
import type { BackendSpec, InferenceBackend } from "./backends/inference-backend";

const PII_CACHE_MS = 10_000;
/** Deployment names (found or not) and feature services remembered at once. */
const DEPLOYMENTS_CACHED = 1_000;
/** Backends kept built at once (one per model version and backend spec in use). */
const BACKENDS_CACHED = 256;

import { elementCount } from "../protocol/tensors";

export { routerRequestSchema };
export type RouterRequest = z.infer<typeof routerRequestSchema>;

export interface RouterOptions {
  deployments: DeploymentService;
  backends: BackendContext;
  stats: CanaryStats;
  metrics: ServingMetrics;
  clock: Clock;
  log: Logger;
  features?: FeatureReader;
  predictions?: PredictionSink;
  /**
   * Explains a request with the version that answered it. With it, an infer request carrying
   * `parameters: {"explain": true}` has its explanation stored with its prediction-log entry
   * (always logged, whatever the sample rate), so the decision can be explained to an auditor later.
   */
  explain?: (ref: VersionRef, request: InferRequest) => Promise<InferOutput[]>;
  /** Backends an admin registered by name. */
  namedBackends?: { spec(name: string): Promise<BackendSpec> };
  /** Production deployments on the in-process server serve only versions whose loaded bytes match their approval. */
  approvedBytes?: ApprovedBytes;
  /** How long a deployment read stays cached (other instances' changes show up after this). */
  cacheTtlMs?: number;
}

type Role = "stable" | "canary";

/**
 * The router: picks a deployment's version (weighted canary, sticky by a request key),
 * enriches entity requests with online features, splits large batches into backend-sized
 * chunks sent concurrently, retries only what certainly did not run, falls back to stable
 * when the canary fails, mirrors to the shadow (whose answer and failures never reach the
 * caller), records outcomes for canary analysis and samples the prediction log.
 */
export class Router {
  /** Deployments by name, misses included (a name is whatever callers put in the path): LRU, short TTL. */
  private readonly cache: BoundedCache<string, { dep?: Deployment }>;
  /** Backends by model, version and spec (LRU: old versions fall out). */
  private readonly backendCache = new BoundedCache<string, InferenceBackend>({ maxEntries: BACKENDS_CACHED });
  /** Feature-tagged personal-data fields by feature service. */
  private readonly piiCache: BoundedCache<string, string[]>;
  private active = 0;

  constructor(private readonly o: RouterOptions) {
    const now = () => o.clock.now();
    this.cache = new BoundedCache({ maxEntries: DEPLOYMENTS_CACHED, ttlMs: o.cacheTtlMs ?? 1_000, now });
    this.piiCache = new BoundedCache({ maxEntries: DEPLOYMENTS_CACHED, ttlMs: PII_CACHE_MS, now });
    o.deployments.onChange((name) => this.cache.delete(name));
  }

  /** The deployment named `name`, from a short-lived cache; undefined when there is none. */
  async lookup(name: string): Promise<Deployment | undefined> {
    const hit = this.cache.get(name);
    if (hit) return hit.dep;
    const dep = await this.o.deployments.find(name);
    this.cache.set(name, { dep });
    return dep;
  }

  /** The backend serving a deployment's stable (or named) version, for metadata and readiness. */
  async backendFor(name: string, version?: string): Promise<InferenceBackend> {
    const dep = await this.require(name);
    const ref =
      version === undefined ? dep.stable : [dep.stable, dep.canary].find((r) => r?.version === version);
    if (!ref) throw missing(`deployment '${name}' does not route to version '${version}'`);
    return this.backend(dep, ref);
  }

  /** Parses a body (tensors or entities) and routes it. */
  async inferBody(
    name: string,
    version: string | undefined,
    body: unknown,
    ctx: { routeKey?: string } = {},
  ): Promise<InferResponse> {
    // Binary tensors become JSON values here: chunking, enrichment and remote backends work on those.
    const req = parseWith(routerRequestSchema, plainTensors(body), "inference request");
    return this.infer(name, req, { ...ctx, version });
  }

  /** Requests being routed right now (the autoscaling gauge). */
  get inFlight(): number {
    return this.active;
  }

  async infer(
    name: string,
    req: RouterRequest,
    ctx: { routeKey?: string; version?: string } = {},
  ): Promise<InferResponse> {
    this.active++;
    try {
      return await this.route(name, req, ctx);
    } finally {
      this.active--;
    }
  }

  private async route(
    name: string,
    req: RouterRequest,
    ctx: { routeKey?: string; version?: string },
  ): Promise<InferResponse> {
    const started = performance.now();
    const dep = await this.require(name);
    const enriched = req.entities ? await this.enrichWithColumns(dep, req) : undefined;
    const request = enriched?.request ?? (req as InferRequest);
    const [role, ref] = this.choose(dep, req, ctx);
    const requestId = req.id ?? newToken();
    let served: VersionRef = ref;
    let response: InferResponse;
    try {
      response = await this.call(dep, ref, request);
      this.outcome(dep, ref, role, true, started);
    } catch (e) {
      const clientError = e instanceof ServingError && ERROR_IS_CLIENTS.has(e.code);
      this.outcome(dep, ref, role, clientError, started);
      if (role !== "canary" || clientError) throw e;
      // The canary failed: answer from stable; the failure still counts against the canary.
      this.o.log.warn("canary failed, falling back to stable", {
        deployment: name,
        canary: refLabel(ref),
        err: (e as Error).message,
      });
      served = dep.stable;
      const fallbackStarted = performance.now();
      response = await this.call(dep, dep.stable, request);
      this.outcome(dep, dep.stable, "stable", true, fallbackStarted);
    }
    if (dep.shadow) this.mirror(dep, dep.shadow, request);
    const latencyMs = performance.now() - started;
    this.o.metrics.routerSeconds.observe({ deployment: name }, latencyMs / 1000);
    if (this.o.predictions && req.parameters?.explain === true) {
      if (!this.o.explain)
        throw badInput("this router has no explainer: 'explain' cannot be stored with the prediction");
      const explanation = await this.o.explain(served, request);
      this.log(dep, served, requestId, request, response, latencyMs, enriched?.columns, explanation);
    } else if (this.o.predictions && Math.random() < sampleRate(dep))
      this.log(dep, served, requestId, request, response, latencyMs, enriched?.columns);
    return {
      ...response,
      ...(req.id !== undefined ? { id: req.id } : {}),
      parameters: { ...response.parameters, deployment: name, model: served.model },
    };
  }

  private async require(name: string): Promise<Deployment> {
    const dep = await this.lookup(name);
    if (!dep) throw missing(`deployment '${name}' does not exist`);
    return dep;
  }

  private choose(
    dep: Deployment,
    req: RouterRequest,
    ctx: { routeKey?: string; version?: string },
  ): [Role, VersionRef] {
    if (ctx.version !== undefined) {
      if (dep.stable.version === ctx.version) return ["stable", dep.stable];
      if (dep.canary?.version === ctx.version) return ["canary", dep.canary];
      throw missing(`deployment '${dep.name}' does not route to version '${ctx.version}'`);
    }
    if (!dep.canary || dep.canary.weight <= 0) return ["stable", dep.stable];
    const sticky = dep.sticky_key ? req.parameters?.[dep.sticky_key] : undefined;
    const key = sticky !== undefined ? String(sticky) : ctx.routeKey;
    // A sticky key maps to a fixed point in [0, 100), so a caller stays on one side while the weight holds.
    const point =
      key === undefined
        ? Math.random() * 100
        : (createHash("sha1").update(`${dep.name}\0${key}`).digest().readUInt32BE(0) / 2 ** 32) * 100;
    return point < dep.canary.weight ? ["canary", dep.canary] : ["stable", dep.stable];
  }

  private async backend(dep: Deployment, ref: VersionRef): Promise<InferenceBackend> {
    let spec = ref.backend;
    if (spec.type === "named") {
      if (!this.o.namedBackends) throw missing(`backend '${spec.name}' is not registered here`);
      spec = await this.o.namedBackends.spec(spec.name);
    }
    const guard = dep.environment === "production" ? this.o.approvedBytes : undefined;
    const k = `${ref.model}|${ref.version}|${JSON.stringify(spec)}|${guard ? dep.name : ""}`;
    let b = this.backendCache.get(k);
    if (!b) {
      b = createBackend(
        spec,
        ref.model,
        ref.version,
        this.o.backends,
        guard ? (digest) => guard.check(dep.name, ref.model, ref.version, digest) : undefined,
      );
      this.backendCache.set(k, b);
    }
    return b;
  }

  /** One logical call: chunks of at most max_chunk_rows rows, each retried while safe, reassembled in order. */
  private async call(dep: Deployment, ref: VersionRef, req: InferRequest): Promise<InferResponse> {
    const backend = await this.backend(dep, ref);
    const chunks = splitRows(req, dep.max_chunk_rows);
    if (chunks.length === 1) return this.attempt(backend, dep, req);
    const parts = await Promise.all(chunks.map((c) => this.attempt(backend, dep, c)));
    return joinRows(parts);
  }

  private async attempt(
    backend: InferenceBackend,
    dep: Deployment,
    req: InferRequest,
  ): Promise<InferResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await backend.infer(req, { timeoutMs: dep.timeout_ms });
      } catch (e) {
        // Inference has no side effects, but a request that may have run is not resent:
        // doing so doubles load exactly when a backend is struggling.
        if (!(e instanceof ServingError && e.retryable) || attempt >= dep.retries) throw e;
        await new Promise((r) => setTimeout(r, 5 * 2 ** attempt));
      }
    }
  }

  private mirror(dep: Deployment, ref: VersionRef, req: InferRequest): void {
    const started = performance.now();
    this.call(dep, ref, req).then(
      () => this.o.stats.record(dep.name, dep.epoch, ref, true, performance.now() - started, "shadow"),
      (e) => {
        this.o.stats.record(dep.name, dep.epoch, ref, false, performance.now() - started, "shadow");
        this.o.metrics.shadowFailures.inc({ deployment: dep.name, version: refLabel(ref) });
        this.o.log.debug("shadow request failed", {
          deployment: dep.name,
          shadow: refLabel(ref),
          err: (e as Error).message,
        });
      },
    );
  }

  private outcome(dep: Deployment, ref: VersionRef, role: Role, ok: boolean, started: number): void {
    this.o.stats.record(dep.name, dep.epoch, ref, ok, performance.now() - started);
    this.o.metrics.routerRequests.inc({
      deployment: dep.name,
      version: refLabel(ref),
      role,
      outcome: ok ? "ok" : "error",
    });
  }

  /** The deployment's personal-data fields: its own `pii.fields` plus the features tagged `pii` (cached briefly). */
  private async piiOf(dep: Deployment): Promise<PredictionEntry["pii"]> {
    const service = dep.features?.feature_service;
    let tagged: string[] = [];
    if (service && this.o.features?.piiFeatures) {
      const hit = this.piiCache.get(service);
      if (hit) tagged = hit;
      else {
        tagged = await this.o.features.piiFeatures(service);
        this.piiCache.set(service, tagged);
      }
    }
    const fields = [...new Set([...(dep.pii?.fields ?? []), ...tagged])];
    return fields.length > 0 ? { fields, mode: dep.pii?.mode ?? "pseudonymize" } : undefined;
  }

  /** Builds the input tensor from the deployment's feature service for the given entity ids (also used by explain). */
  async enrich(dep: Deployment, req: RouterRequest): Promise<InferRequest> {
    return (await this.enrichWithColumns(dep, req)).request;
  }

  /** `enrich`, with the feature names of the built tensor's columns (for the prediction log's personal-data rules). */
  private async enrichWithColumns(
    dep: Deployment,
    req: RouterRequest,
  ): Promise<{ request: InferRequest; columns: Record<string, string[]> }> {
    const cfg = dep.features;
    if (!cfg)
      throw badInput(
        `deployment '${dep.name}' has no feature service; send input tensors instead of entities`,
      );
    if (!this.o.features)
      throw new ServingError("TEMPORARILY_UNAVAILABLE", "the feature store is not connected to serving");
    const entities = req.entities as Record<string, Array<string | number>>;
    const keys = Object.keys(entities);
    const rows = entities[keys[0]].length;
    if (keys.some((k) => entities[k].length !== rows))
      throw badInput("every entity key must list the same number of ids");
    const res = await this.o.features.getOnlineFeatures({
      feature_service: cfg.feature_service,
      entities,
      full_feature_names: cfg.full_feature_names,
    });
    const columns = res.metadata.feature_names.map((n, i) => ({ n, i })).filter(({ n }) => !keys.includes(n));
    const data = new Array<number>(rows * columns.length);
    for (let r = 0; r < rows; r++) {
      columns.forEach(({ n, i }, c) => {
        const v = res.results[i]?.values[r];
        let x: number;
        if (v === null || v === undefined) {
          if (cfg.fill_missing === undefined)
            throw badInput(
              `feature '${n}' is missing for entity row ${r} (${keys.map((k) => `${k}=${entities[k][r]}`).join(", ")})`,
            );
          x = cfg.fill_missing;
        } else if (typeof v === "number" || typeof v === "boolean") x = Number(v);
        else throw badInput(`feature '${n}' is not numeric (${JSON.stringify(v)})`);
        data[r * columns.length + c] = x;
      });
    }
    return {
      request: {
        id: req.id,
        parameters: req.parameters,
        outputs: req.outputs,
        inputs: [{ name: cfg.input, datatype: "FP32", shape: [rows, columns.length], data }],
      },
      columns: { [cfg.input]: columns.map((c) => c.n) },
    };
  }

  private log(
    dep: Deployment,
    ref: VersionRef,
    requestId: string,
    req: InferRequest,
    res: InferResponse,
    latencyMs: number,
    columns?: Record<string, string[]>,
    explanation?: InferOutput[],
  ): void {
    const rows = (t: { shape: number[]; data: unknown }) => {
      const flat = flatten(t.data);
      const width = elementCount(t.shape.slice(1));
      const out: number[][] = [];
      for (let i = 0; i < (t.shape[0] ?? 1); i++)
        out.push(flat.slice(i * width, (i + 1) * width).map(Number));
      return out;
    };
    const entry = {
      deployment: dep.name,
      model: ref.model,
      version: ref.version,
      requestId,
      time: this.o.clock.now(),
      latencyMs,
      inputs: Object.fromEntries(req.inputs.map((t) => [t.name, rows(t)])),
      outputs: Object.fromEntries(res.outputs.map((t) => [t.name, rows(t)])),
      ...(explanation ? { explanation: Object.fromEntries(explanation.map((t) => [t.name, rows(t)])) } : {}),
    };
    Promise.resolve()
      .then(async () => {
        const pii = await this.piiOf(dep);
        await this.o.predictions?.record(pii ? { ...entry, pii, ...(columns ? { columns } : {}) } : entry);
      })
      .catch((e) =>
        this.o.log.warn("prediction log write failed", { deployment: dep.name, err: (e as Error).message }),
      );
  }
}

/** The deployment's sampling rate for the prediction log (its own, else the environment's default). */
export const sampleRate = (dep: Deployment): number =>
  dep.sample_rate ?? DEFAULT_SAMPLE_RATE[dep.environment];

const ERROR_IS_CLIENTS = new Set([
  "INVALID_PARAMETER_VALUE",
  "RESOURCE_DOES_NOT_EXIST",
  "PAYLOAD_TOO_LARGE",
  "MALFORMED_REQUEST",
  "BAD_REQUEST",
]);

/** Row-major elements of a flat or nested JSON tensor. */
export function flatten(v: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const x of v) flatten(x, out);
  else out.push(v);
  return out;
}

/** Splits a request along the batch dimension into requests of at most `max` rows (one when it fits). */
export function splitRows(req: InferRequest, max: number): InferRequest[] {
  const rows = req.inputs[0]?.shape[0];
  if (
    rows === undefined ||
    rows <= max ||
    req.inputs.some((t) => t.shape.length === 0 || t.shape[0] !== rows)
  )
    return [req];
  const flat = req.inputs.map((t) => ({ t, data: flatten(t.data), width: elementCount(t.shape.slice(1)) }));
  const out: InferRequest[] = [];
  for (let from = 0; from < rows; from += max) {
    const to = Math.min(rows, from + max);
    out.push({
      ...req,
      inputs: flat.map(
        ({ t, data, width }): InferInput => ({
          ...t,
          shape: [to - from, ...t.shape.slice(1)],
          data: data.slice(from * width, to * width),
        }),
      ),
    });
  }
  return out;
}

/** Reassembles chunk responses (in chunk order) into one response. */
export function joinRows(parts: InferResponse[]): InferResponse {
  const outputs: InferOutput[] = parts[0].outputs.map((o, i) => ({
    ...o,
    shape: [parts.reduce((s, p) => s + p.outputs[i].shape[0], 0), ...o.shape.slice(1)],
    data: parts.flatMap((p) => flatten(p.outputs[i].data) as InferOutput["data"]),
  }));
  return { ...parts[0], outputs };
}
