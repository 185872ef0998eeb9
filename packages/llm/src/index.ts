export { BodyStore, type StoredBody } from "./body-store";
export { budgetAlertPublishInput, snsBudgetAlerts } from "./budget-alert-sns";
export { CallRecorder, type FinishedCall, type GatewayTrace, type GatewayTracer } from "./call-recorder";
export { type Caller, identifyCaller } from "./caller";
export { currentLlmCaller, runAsCaller } from "./caller-context";
export { CircuitBreakers } from "./circuit";
export { EMF, EmfWriter } from "./emf";
export { LlmError } from "./errors";
export { ExactCache } from "./exact-cache";
export { FeedbackStore } from "./feedback";
export * from "./finetune";
export { Gateway } from "./gateway";
export { type Findings, PiiScanner, StreamScanner } from "./guardrails";
export { openaiError } from "./http-openai";
export { KeyStore, VIRTUAL_KEY_PREFIX } from "./keys";
export { type BucketDraw, RateLimiter } from "./limits";
export { createLlmModule, type LlmModuleDeps, type LlmModuleOptions, type LlmService } from "./llm-module";
export { LlmMetrics } from "./metrics";
export * from "./openai-types";
export { ProviderFactory } from "./provider-factory";
export {
  asProviderError,
  type CallOptions,
  type LlmProvider,
  ProviderError,
  type VirtualModelProvider,
} from "./provider-port";
export { BedrockProvider, type BedrockRuntimeLike, converseInput } from "./providers/bedrock";
export { type OpenAIHttpOptions, OpenAIHttpProvider } from "./providers/openai-http";
export { SageMakerProvider, type SageMakerRuntimeLlmLike } from "./providers/sagemaker";
export { sseData } from "./providers/sse";
export { UpstreamPools } from "./providers/upstream-pool";
export {
  ApprovalGate,
  assertRouteApproved,
  type ProductionRefusal,
  type RegistryApprovals,
  registryProductionRefusal,
} from "./route-approval";
export { RouteStore } from "./route-store";
export { LlmRouter, modelNotFound } from "./router";
export { routesFromConfig } from "./routes";
export {
  type CacheRecord,
  type CacheVectorStore,
  collectionOf,
  conversationText,
  entryRecord,
  SemanticCache,
  scopeOf,
} from "./semantic-cache";
export { settleAfter } from "./settle";
export { type BudgetAlert, periodOf, Teams } from "./teams";
export { countPrompt, countText } from "./tokens";
export { UsageLog } from "./usage-log";
export { UsageParquetSink, usageToParquet } from "./usage-parquet";
