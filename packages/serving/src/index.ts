export { ApprovedBytes, pinnedDigest, sha256Hex } from "./approved-bytes";
export { AsyncScoring, type ScoringResult } from "./async-scoring";
export { BackendRegistry, type RegisteredBackend } from "./backend-registry";
export { type BackendContext, createBackend } from "./backends/backend-factory";
export { InProcessBackend } from "./backends/in-process-backend";
export { type BackendSpec, backendSpecSchema, type InferenceBackend } from "./backends/inference-backend";
export { KServeHttpBackend } from "./backends/kserve-http-backend";
export { SageMakerBackend, type SageMakerRuntimeLike } from "./backends/sagemaker-backend";
export { type AnalysisResult, CanaryAnalysis, CanaryStats } from "./canary-analysis";
export * from "./datatypes";
export { defaultBackendOf } from "./default-backend";
export * from "./deployment-model";
export { DeploymentService } from "./deployment-service";
export * from "./errors";
export { EXPLAINABLE_MODEL_FILE, type ModelExplainer, mountExplainRoutes } from "./explain-routes";
export { type CloudWatchLike, IN_FLIGHT_METRIC, InFlightPublisher } from "./inflight-publisher";
export {
  DEFAULT_MAX_BODY_BYTES,
  type InferenceApi,
  mountInferenceRoutes,
  mountMetricsRoute,
  mountRepositoryRoutes,
  serverApi,
} from "./kserve-routes";
export { ServingMetrics } from "./metrics";
export {
  type ExecutionProvider,
  type ModelConfig,
  parseModelConfig,
  selectVersions,
  type VersionPolicy,
} from "./model-config";
export { RepositoryPublisher } from "./model-publisher";
export { ModelServer, type ModelServerOptions, type RepositoryIndexEntry } from "./model-server";
export { type PbMessage, parsePbtxt } from "./pbtxt";
export * from "./ports";
export * from "./protocol";
export { type RegistryLike, registryModelResolver } from "./registry-resolver";
export { joinRows, Router, type RouterRequest, routerRequestSchema, splitRows } from "./router";
export {
  MemoryScoringQueue,
  type ScoringMessage,
  type ScoringQueue,
  SqsScoringQueue,
  scoringMessageSchema,
} from "./scoring-queue";
export {
  createServingModule,
  findServingModule,
  isServingModule,
  type ServingDeps,
  type ServingModule,
  type ServingModuleOptions,
  type ServingService,
} from "./serving-module";
