import type { AuditLog } from "@keel/audit";
import type { Clock, Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Hono } from "hono";
import { CircuitBreakers } from "./circuit";
import { ExactCache } from "./exact-cache";
import { FeedbackStore } from "./feedback";
import { Gateway } from "./gateway";
import { mountFeedbackRoutes } from "./http-feedback";
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
import { type BudgetAlert, Teams } from "./teams";
import { UsageLog } from "./usage-log";

export interface LlmModuleDeps {
  store: MetadataStore;
  audit: AuditLog;
  clock: Clock;
  log?: Logger;
  config: { region: string; llm: { upstreams?: string; cacheMaxEntries: number } };
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
  /** The hook another package uses to serve virtual model names (e.g. `rag:<kb>`). */
  registerVirtualModels(v: VirtualModelProvider): void;
}

/**
 * The LLM gateway module: OpenAI's API at /llm/v1 and its management API at /api/v1/llm,
 * over the metadata store (routes, keys, teams, buckets, spend, usage) and the audit log.
 */
export function createLlmModule(deps: LlmModuleDeps, opts: LlmModuleOptions = {}) {
  const { store, audit, clock } = deps;
  const ttl = opts.cacheTtlMs ?? 2000;
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
  const teams = new Teams(store, audit, clock, opts.onBudgetAlert, ttl, (e) =>
    deps.log?.warn?.("llm spend write failed", { error: String(e) }),
  );
  const usage = new UsageLog(store, clock, deps.log);
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
    registerVirtualModels: (v) => router.registerVirtual(v),
  };
  return {
    name: "llm",
    service,
    metrics,
    routes(app: Hono) {
      mountOpenAIRoutes(app, { gateway, keys, routes, router });
      mountManagementRoutes(app, { routes, keys, teams, usage });
      mountFeedbackRoutes(app, { feedback, keys });
    },
    async stop() {
      await Promise.all([usage.flush(), teams.flush(), limiter.stop(), semantic?.flush()]);
    },
  };
}
