export * from "./errors";
export * from "./datatypes";
export * from "./protocol";
export * from "./ports";
export { parsePbtxt, type PbMessage } from "./pbtxt";
export { parseModelConfig, selectVersions, type ModelConfig, type ExecutionProvider, type VersionPolicy } from "./model-config";
export { ServingMetrics } from "./metrics";
export { ModelServer, type ModelServerOptions, type RepositoryIndexEntry } from "./model-server";
export {
  DEFAULT_MAX_BODY_BYTES,
  type InferenceApi,
  mountInferenceRoutes,
  mountMetricsRoute,
  mountRepositoryRoutes,
  serverApi,
} from "./kserve-routes";
export { type InferenceBackend, type BackendSpec, backendSpecSchema } from "./backends/inference-backend";
export { InProcessBackend } from "./backends/in-process-backend";
export { KServeHttpBackend } from "./backends/kserve-http-backend";
export { SageMakerBackend, type SageMakerRuntimeLike } from "./backends/sagemaker-backend";
export { createBackend, type BackendContext } from "./backends/backend-factory";
export * from "./deployment-model";
export { DeploymentService } from "./deployment-service";
export { CanaryAnalysis, CanaryStats, type AnalysisResult } from "./canary-analysis";
export { Router, routerRequestSchema, type RouterRequest, splitRows, joinRows } from "./router";
export { MemoryScoringQueue, SqsScoringQueue, type ScoringQueue, type ScoringMessage, scoringMessageSchema } from "./scoring-queue";
export { AsyncScoring, type ScoringResult } from "./async-scoring";
export { loadServingConfig, SERVING_ENV, type ServingConfig } from "./serving-config";
export { createServingModule, type ServingDeps, type ServingModuleOptions, type ServingService } from "./serving-module";
export { registryModelResolver, type RegistryLike } from "./registry-resolver";
