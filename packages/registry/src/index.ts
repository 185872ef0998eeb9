export { registryAuditedState } from "./audited-state";
export { RegistryError } from "./errors";
export { AUTO_APPROVER, type PolicyOutcome, type PromotionRecord, type PromotionStatus } from "./governance";
export {
  FEATURE_VIEWS_TAG,
  type LineageEdge,
  type LineageGraph,
  type LineageNode,
  PIPELINE_RUN_TAG,
} from "./lineage";
export { modelVersionJson } from "./mlflow-json";
export type { RegisteredModelView } from "./model-service";
export { type Check, type CheckResult, DEFAULT_POLICY, type Policy } from "./policy";
export type { PolicyChangeRecord, PolicyChangeStatus } from "./policy-changes";
export type {
  DeploymentLister,
  DeploymentRef,
  ModelPublisher,
  ProductionApproval,
  RunReader,
  RunRecord,
} from "./ports";
export { type CardFormat, cardPath, ProvenanceService } from "./provenance-service";
export {
  type ModelRecord,
  type ModelVersionView,
  STAGES,
  type Stage,
  type Target,
  type VersionRecord,
} from "./records";
export {
  createRegistryModule,
  type RegistryDeps,
  type RegistryIntegrations,
  type RegistryModule,
} from "./registry-module";
export { RegistryService } from "./registry-service";
