import { join } from "node:path";
import type { AuditLog } from "@keel/audit";
import type { Clock, Logger, ServingConfig } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Hono } from "hono";
import { BackendRegistry } from "./deployments/backend-registry";
import { mountBackendRoutes } from "./deployments/backend-routes";
import { CanaryAnalysis, CanaryStats } from "./deployments/canary-analysis";
import { mountDeploymentRoutes } from "./deployments/deployment-routes";
import { DeploymentService } from "./deployments/deployment-service";
import { missing } from "./errors";
import { createVersionExplainer, type ModelExplainer, mountExplainRoutes } from "./explain/explain-routes";
import { type CloudWatchLike, InFlightPublisher } from "./metrics/inflight-publisher";
import { ServingMetrics } from "./metrics/metrics";
import { ApprovedBytes } from "./model-server/approved-bytes";
import type { ExecutionProvider } from "./model-server/model-config";
import { RepositoryPublisher, type RepositoryStore } from "./model-server/model-publisher";
import { ModelServer } from "./model-server/model-server";
import type { ApprovalReader, FeatureReader, ModelResolver, PredictionSink } from "./ports";
import {
  type InferenceApi,
  mountInferenceRoutes,
  mountMetricsRoute,
  mountRepositoryRoutes,
  serverApi,
} from "./protocol/kserve-routes";
import type { SageMakerRuntimeLike } from "./router/backends/sagemaker-backend";
import { defaultBackendOf } from "./router/default-backend";
import { Router } from "./router/router";
import { AsyncScoring } from "./scoring/async-scoring";
import { MemoryScoringQueue, type ScoringQueue } from "./scoring/scoring-queue";

/** What serving needs from the platform (a subset of PlatformDeps). */
export interface ServingDeps {
  /** The core settings it uses and its own section of KeelConfig (parsed once by loadConfig). */
  config: { core: { dataDir: string; stage: string }; serving: ServingConfig };
  store: MetadataStore;
  artifacts: { getBytes(path: string): Promise<Buffer> };
  audit: AuditLog;
  clock: Clock;
  log: Logger;
}

export interface ServingModuleOptions {
  resolver?: ModelResolver;
  /**
   * The registry's Production approvals: production deployments take only approved versions,
   * and the in-process server serves them only while the loaded bytes match the pinned digests.
   */
  approvals?: ApprovalReader;
  features?: FeatureReader;
  predictions?: PredictionSink;
  /**
   * Run Keel's model server in this process (`keel dev`), over this Triton-layout repository
   * (default `<dataDir>/models`). `false` in the router Lambda, where every deployment
   * version names a kserve or sagemaker backend.
   */
  modelServer?: false | { repository?: string; provider?: ExecutionProvider; intraOpNumThreads?: number };
  /** The async scoring queue (chosen by @keel/app: SQS in AWS); default an in-process queue with a local consumer. */
  queue?: ScoringQueue;
  /** Consume the queue in this process (default: when the queue is the in-process one). */
  consume?: boolean;
  sagemaker?: (region?: string) => SageMakerRuntimeLike;
  maxBodyBytes?: number;
  /** How often outcome counters are flushed and auto canary analyses considered (ms). */
  tickMs?: number;
  /**
   * Where the router's in-flight gauge is published (CloudWatch in AWS, chosen by @keel/app);
   * published only when given and `config.serving.metricsNamespace` is set.
   */
  metricsSink?: CloudWatchLike;
  /**
   * Where approved versions are published (the Triton-layout repository: `<dataDir>/models`
   * locally, the `models/` S3 prefix in AWS) and where a version's files are in the artifact
   * store; gives the service its `publisher` (the registry's ModelPublisher).
   */
  publish?: { target: RepositoryStore; sourcePath(model: string, version: string): Promise<string> };
  /** Serves `POST /v2/models/{deployment}/explain` with these explanations when given. */
  explainer?: ModelExplainer;
}

export interface ServingService {
  server?: ModelServer;
  deployments: DeploymentService;
  backends: BackendRegistry;
  router: Router;
  analysis: CanaryAnalysis;
  scoring: AsyncScoring;
  stats: CanaryStats;
  metrics: ServingMetrics;
  /** Publishes approved versions to the model repository (when `publish` was given). */
  publisher?: RepositoryPublisher;
}

/**
 * The serving module: the model server (in process locally), the router in front of it
 * under `/v2/...` (a name that is a deployment routes through it; any other name goes to
 * the model server directly), Triton's repository API, `/metrics`, the deployment API under
 * `/api/v1/deployments` and asynchronous scoring.
 */
export function createServingModule(deps: ServingDeps, opts: ServingModuleOptions = {}) {
  const metrics = new ServingMetrics();
  const env = deps.config.serving;
  const serverOpts =
    opts.modelServer === false || (opts.modelServer === undefined && !env.inProcess)
      ? undefined
      : (opts.modelServer ?? {});
  const server = serverOpts
    ? new ModelServer({
        repository: serverOpts.repository ?? env.modelRepository ?? join(deps.config.core.dataDir, "models"),
        provider: serverOpts.provider ?? env.provider,
        intraOpNumThreads: serverOpts.intraOpNumThreads ?? env.intraOpNumThreads,
        metrics,
        log: deps.log,
      })
    : undefined;
  const backends = new BackendRegistry(deps.store, deps.audit, deps.clock);
  const deployments = new DeploymentService(
    deps.store,
    deps.audit,
    deps.clock,
    opts.resolver,
    server ? (m, v) => server.has(m, v) : undefined,
    { approvals: opts.approvals, backends },
  );
  const approvedBytes = opts.approvals
    ? new ApprovedBytes(opts.approvals, opts.resolver, deps.audit, deps.clock, deps.log)
    : undefined;
  const stats = new CanaryStats(deps.store, deps.clock);
  const explainVersion = opts.explainer
    ? createVersionExplainer({
        resolver: opts.resolver,
        artifacts: deps.artifacts,
        explainer: opts.explainer,
      })
    : undefined;
  const router = new Router({
    deployments,
    backends: {
      server,
      resolver: opts.resolver,
      artifacts: deps.artifacts,
      sagemaker: opts.sagemaker,
      defaultBackend: defaultBackendOf(env),
    },
    stats,
    metrics,
    clock: deps.clock,
    log: deps.log,
    features: opts.features,
    predictions: opts.predictions,
    explain: explainVersion,
    namedBackends: backends,
    approvedBytes,
  });
  const analysis = new CanaryAnalysis(stats, deployments);
  const queue = opts.queue ?? new MemoryScoringQueue();
  const scoring = new AsyncScoring(queue, router, deps.store, deps.clock, deps.log);
  const consume = opts.consume ?? queue instanceof MemoryScoringQueue;
  const publisher =
    env.metricsNamespace && opts.metricsSink
      ? new InFlightPublisher(
          opts.metricsSink,
          env.metricsNamespace,
          deps.config.core.stage,
          () => router.inFlight,
        )
      : undefined;
  const modelPublisher = opts.publish
    ? new RepositoryPublisher(deps.artifacts, opts.publish.sourcePath, opts.publish.target, deps.audit)
    : undefined;
  const service: ServingService = {
    server,
    deployments,
    backends,
    router,
    analysis,
    scoring,
    stats,
    metrics,
    publisher: modelPublisher,
  };

  const direct = server ? serverApi(server) : undefined;
  const noServer = (m: string) => missing(`'${m}' is not a deployment (and no model server runs here)`);
  const api: InferenceApi = {
    async metadata(m, v) {
      if (await router.lookup(m)) return { ...(await (await router.backendFor(m, v)).metadata()), name: m };
      if (!direct) throw noServer(m);
      return direct.metadata(m, v);
    },
    async ready(m, v) {
      if (await router.lookup(m)) return (await router.backendFor(m, v)).ready();
      return direct ? direct.ready(m, v) : false;
    },
    async infer(m, v, body, ctx) {
      if (await router.lookup(m)) return router.inferBody(m, v, body, ctx);
      if (!direct) throw noServer(m);
      return direct.infer(m, v, body, ctx);
    },
  };

  let timer: NodeJS.Timeout | undefined;
  const lastAnalysis = new Map<string, number>();
  const tick = async () => {
    await stats.flush();
    for (const d of await deployments.list()) {
      if (!d.canary || !d.analysis.auto) continue;
      const due = (lastAnalysis.get(d.name) ?? 0) + d.analysis.interval_s * 1000;
      if (deps.clock.now() < due) continue;
      lastAnalysis.set(d.name, deps.clock.now());
      const r = await analysis.run(d.name);
      if (r.decision === "promote" || r.decision === "rollback")
        deps.log.info("canary analysis applied", { ...r });
    }
  };

  return {
    name: "serving",
    service,
    routes(app: Hono) {
      mountInferenceRoutes(app, api, {
        maxBodyBytes: opts.maxBodyBytes ?? env.maxBodyBytes,
        extensions: server ? ["model_repository"] : [],
      });
      if (server) {
        mountRepositoryRoutes(app, server, {
          onChange: async (action, model) => {
            await deps.audit.append({
              action: `serving.model.${action}`,
              resource: `model-server:${model}`,
              state: await server.index(),
            });
          },
        });
      }
      mountMetricsRoute(app, metrics);
      mountBackendRoutes(app, backends, deployments);
      mountDeploymentRoutes(
        app,
        { deployments, analysis, scoring },
        { maxBodyBytes: opts.maxBodyBytes ?? env.maxBodyBytes },
      );
      if (opts.explainer && explainVersion)
        mountExplainRoutes(
          app,
          { router, resolver: opts.resolver, artifacts: deps.artifacts, explainer: opts.explainer },
          explainVersion,
        );
    },
    async start() {
      await server?.loadRepository();
      if (consume) scoring.start();
      publisher?.start();
      timer = setInterval(() => {
        tick().catch((e) => deps.log.warn("serving background tick failed", { err: (e as Error).message }));
      }, opts.tickMs ?? 1_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      publisher?.stop();
      await scoring.stop();
      await stats.flush().catch(() => undefined);
      await server?.close();
    },
  };
}

export type ServingModule = ReturnType<typeof createServingModule>;

/** Finds the serving module among the platform's modules (for the Lambda entry points). */
export function isServingModule(m: { name: string }): m is ServingModule {
  return m.name === "serving" && "service" in m;
}

/** The serving module among a platform's modules; throws when the platform was built without it. */
export function findServingModule(modules: Array<{ name: string }>): ServingModule {
  const m = modules.find(isServingModule);
  if (!m) throw new Error("the platform has no serving module");
  return m;
}
