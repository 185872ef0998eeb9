import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import type { Clock, Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Hono } from "hono";
import { BodyStore } from "./body-store";
import { snsBudgetAlerts } from "./budget-alert-sns";
import { CallRecorder, type GatewayTracer } from "./call-recorder";
import { CircuitBreakers } from "./circuit";
import { EmfWriter } from "./emf";
import { ExactCache } from "./exact-cache";
import { FeedbackStore } from "./feedback";
import { Gateway } from "./gateway";
import { mountFeedbackRoutes } from "./http-feedback";
import { mountLlmOpsRoutes } from "./http-llmops";
import { mountManagementRoutes } from "./http-management";
import { mountOpenAIRoutes } from "./http-openai";
import { KeyStore } from "./keys";
import { RateLimiter } from "./limits";
import { LlmMetrics } from "./metrics";
import { ProviderFactory } from "./provider-factory";
import type { VirtualModelProvider } from "./provider-port";
import type { BedrockProvider } from "./providers/bedrock";
import type { SageMakerProvider } from "./providers/sagemaker";
import { ApprovalGate, type ProductionRefusal } from "./route-approval";
import { RouteStore } from "./route-store";
import { LlmRouter } from "./router";
import { routesFromConfig } from "./routes";
import { type CacheVectorStore, SemanticCache } from "./semantic-cache";
import { settleAfter } from "./settle";
import { type BudgetAlert, Teams } from "./teams";
import { UsageLog } from "./usage-log";
import { type UsageParquetOptions, UsageParquetSink } from "./usage-parquet";

export interface LlmModuleDeps {
  store: MetadataStore;
  audit: AuditLog;
  clock: Clock;
  log?: Logger;
  config: {
    region: string;
    stage?: string;
    llm: { upstreams?: string; cacheMaxEntries: number; emf?: "on" | "off"; alertTopicArn?: string };
  };
  /** The artifact store: the usage log's Parquet copy goes there (none when absent). */
  artifacts?: ArtifactStore;
}

export interface LlmModuleOptions {
  /** Budget threshold alerts (SNS in AWS); an `llm.budget.alert` audit event is always appended. */
  onBudgetAlert?: (a: BudgetAlert) => Promise<void> | void;
  /** Test seams: Bedrock and SageMaker providers over stubbed clients. */
  bedrock?: (region: string) => BedrockProvider;
  sagemaker?: (region: string, endpoint: string, component?: string) => SageMakerProvider;
  /** Upstream API keys are read from these variables (`apiKeyEnv`); default process.env. */
  env?: Record<string, string | undefined>;
  /** The registry's approval rule for route deployments naming a registered model version. */
  productionRefusal?: ProductionRefusal;
  /** Seconds a read of keys, routes and teams is cached per process (default 2). */
  cacheTtlMs?: number;
  /** The vector store of the semantic cache (RAG's; LanceDB); absent: routes' `semanticCache` is off. */
  semanticStore?: CacheVectorStore;
  /** How long a registered version's approval state is trusted before a re-read (default 5000 ms). */
  approvalMaxStaleMs?: number;
  /** Routes with `trace` record each call here (the TrackingService's TraceRecorder). */
  tracer?: GatewayTracer;
  /** The usage log's Parquet files (sizes, ages, prefix). */
  usageParquet?: UsageParquetOptions;
  /** Where EMF lines go (default stdout, when `llm.emf` is on). */
  emfWrite?: (line: string) => void;
  /** How often expired stored bodies are purged in this process (default hourly; 0: only at start). */
  purgeEveryMs?: number;
}

export interface LlmService {
  gateway: Gateway;
  router: LlmRouter;
  routes: RouteStore;
  keys: KeyStore;
  teams: Teams;
  usage: UsageLog;
  metrics: LlmMetrics;
  feedback: FeedbackStore;
  /** The semantic cache, when a vector store was given (`flush()` writes what waits). */
  semantic?: SemanticCache;
  /** Cached approval state of registered versions routes name; `invalidate()` on any registry change. */
  approvals?: ApprovalGate;
  bodies: BodyStore;
  /** The hook another package uses to serve virtual model names (e.g. `rag:<kb>`). */
  registerVirtualModels(v: VirtualModelProvider): void;
  /**
   * An answer whose end waits until its request's usage record and spend are written (a Lambda
   * container may be frozen or recycled once the answer ends): see settle.ts.
   */
  settle(res: Response): Response;
}

/**
 * The LLM gateway module: OpenAI's API at /llm/v1 and its management API at /api/v1/llm,
 * over the metadata store (routes, keys, teams, buckets, spend, usage) and the audit log.
 */
export function createLlmModule(deps: LlmModuleDeps, opts: LlmModuleOptions = {}) {
  const { store, audit, clock } = deps;
  const ttl = opts.cacheTtlMs ?? 2000;
  let purgeTimer: ReturnType<typeof setInterval> | undefined;
  const metrics = new LlmMetrics();
  const routes = new RouteStore(
    store,
    audit,
    clock,
    routesFromConfig(deps.config.llm.upstreams),
    ttl,
    opts.productionRefusal,
  );
  const keys = new KeyStore(store, audit, clock, ttl);
  const topic = deps.config.llm.alertTopicArn;
  const onAlert = opts.onBudgetAlert ?? (topic ? snsBudgetAlerts(topic) : undefined);
  const teams = new Teams(store, audit, clock, onAlert, ttl, (e) =>
    deps.log?.warn?.("llm spend write failed", { error: String(e) }),
  );
  const parquet = deps.artifacts && new UsageParquetSink(deps.artifacts, opts.usageParquet, deps.log);
  const usage = new UsageLog(store, clock, deps.log, { parquet });
  const bodies = new BodyStore(store, audit, clock, teams, deps.log);
  const recorder = new CallRecorder({
    bodies,
    tracer: opts.tracer,
    emf:
      deps.config.llm.emf === "on" ? new EmfWriter(deps.config.stage ?? "local", opts.emfWrite) : undefined,
    log: deps.log,
  });
  const providers = new ProviderFactory({
    region: deps.config.region,
    env: opts.env,
    bedrock: opts.bedrock,
    sagemaker: opts.sagemaker,
  });
  const router = new LlmRouter(routes, providers, new CircuitBreakers(() => clock.now()), metrics);
  const limiter = new RateLimiter(store, clock);
  const approvals = opts.productionRefusal
    ? new ApprovalGate(opts.productionRefusal, () => clock.now(), opts.approvalMaxStaleMs)
    : undefined;
  router.approvals = approvals;
  const semantic = opts.semanticStore ? new SemanticCache(opts.semanticStore, clock, deps.log) : undefined;
  const feedback = new FeedbackStore(store, audit, clock, usage, metrics);
  const gateway = new Gateway({
    router,
    limiter,
    teams,
    usage,
    cache: new ExactCache(clock, deps.config.llm.cacheMaxEntries),
    metrics,
    clock,
    semantic,
    onCall: (c) => recorder.record(c),
  });
  const service: LlmService = {
    gateway,
    router,
    routes,
    keys,
    teams,
    usage,
    metrics,
    feedback,
    semantic,
    approvals,
    bodies,
    registerVirtualModels: (v) => router.registerVirtual(v),
    settle: (res) => settleAfter(res, { usage, flushSpend: () => teams.flush() }),
  };
  return {
    name: "llm",
    service,
    metrics,
    routes(app: Hono) {
      mountOpenAIRoutes(app, { gateway, keys, routes, router });
      mountManagementRoutes(app, { routes, keys, teams, usage });
      mountFeedbackRoutes(app, { feedback, keys });
      mountLlmOpsRoutes(app, { usage, bodies });
    },
    async start() {
      // Expired stored bodies go at start and then on a timer (a schedule does it in AWS too).
      await bodies.purge().catch((e) => deps.log?.warn?.("llm body purge failed", { error: String(e) }));
      const every = opts.purgeEveryMs ?? 3_600_000;
      if (every > 0) {
        purgeTimer = setInterval(() => void bodies.purge().catch(() => undefined), every);
        purgeTimer.unref?.();
      }
    },
    async stop() {
      if (purgeTimer) clearInterval(purgeTimer);
      await Promise.all([usage.flush(), teams.flush(), limiter.stop(), bodies.flush(), semantic?.flush()]);
      await parquet?.flush();
    },
  };
}
