export { BackendRegistry, type RegisteredBackend } from "./deployments/backend-registry";
export { type AnalysisResult, CanaryAnalysis, CanaryStats } from "./deployments/canary-analysis";
export { deploymentAuditedState } from "./deployments/deployment-audited-state";
export * from "./deployments/deployment-model";
export { DeploymentService } from "./deployments/deployment-service";
export * from "./errors";
export { EXPLAINABLE_MODEL_FILE, type ModelExplainer, mountExplainRoutes } from "./explain/explain-routes";
export { type CloudWatchLike, IN_FLIGHT_METRIC, InFlightPublisher } from "./metrics/inflight-publisher";
export { ServingMetrics } from "./metrics/metrics";
export { ApprovedBytes, pinnedDigest, sha256Hex } from "./model-server/approved-bytes";
export {
  type ExecutionProvider,
  type ModelConfig,
  parseModelConfig,
  selectVersions,
  type VersionPolicy,
} from "./model-server/model-config";
export { RepositoryPublisher } from "./model-server/model-publisher";
export { ModelServer, type ModelServerOptions, type RepositoryIndexEntry } from "./model-server/model-server";
export { type PbMessage, parsePbtxt } from "./model-server/pbtxt";
export * from "./ports";
export {
  binaryOutputs,
  decodeBinaryRequest,
  decodeBinaryResponse,
  encodeBinaryRequest,
  encodeBinaryResponse,
  HEADER_LENGTH,
} from "./protocol/binary-data";
export * from "./protocol/datatypes";
export { type GrpcServer, type GrpcServerOptions, PROTO_PATH, startGrpcServer } from "./protocol/grpc-server";
export {
  DEFAULT_MAX_BODY_BYTES,
  type InferenceApi,
  mountInferenceRoutes,
  mountMetricsRoute,
  mountRepositoryRoutes,
  serverApi,
} from "./protocol/kserve-routes";
export * from "./protocol/protocol";
export { type BackendContext, createBackend } from "./router/backends/backend-factory";
export { InProcessBackend } from "./router/backends/in-process-backend";
export {
  type BackendSpec,
  backendSpecSchema,
  type InferenceBackend,
} from "./router/backends/inference-backend";
export { KServeHttpBackend } from "./router/backends/kserve-http-backend";
export { SageMakerBackend, type SageMakerRuntimeLike } from "./router/backends/sagemaker-backend";
export { defaultBackendOf } from "./router/default-backend";
export { type RegistryLike, registryModelResolver } from "./router/registry-resolver";
export { joinRows, Router, type RouterRequest, routerRequestSchema, splitRows } from "./router/router";
export { AsyncScoring, type ScoringResult } from "./scoring/async-scoring";
export {
  MemoryScoringQueue,
  type ScoringMessage,
  type ScoringQueue,
  SqsScoringQueue,
  scoringMessageSchema,
} from "./scoring/scoring-queue";
export {
  createServingModule,
  findServingModule,
  isServingModule,
  type ServingDeps,
  type ServingModule,
  type ServingModuleOptions,
  type ServingService,
} from "./serving-module";
