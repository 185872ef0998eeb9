export { RegistryError } from "./errors";
export type { RunReader, RunRecord, DeploymentLister, DeploymentRef } from "./ports";
export {
  STAGES,
  type Stage,
  type Target,
  type ModelRecord,
  type ModelVersionView,
  type VersionRecord,
} from "./records";
export { type Policy, type Check, type CheckResult, DEFAULT_POLICY } from "./policy";
export { AUTO_APPROVER, type PromotionRecord, type PromotionStatus } from "./governance";
export { RegistryService, type RegisteredModelView } from "./registry-service";
export { ProvenanceService, cardPath, type CardFormat } from "./provenance-service";
export { type LineageGraph, type LineageNode, type LineageEdge, PIPELINE_RUN_TAG, FEATURE_VIEWS_TAG } from "./lineage";
export {
  createRegistryModule,
  type RegistryDeps,
  type RegistryIntegrations,
  type RegistryModule,
} from "./registry-module";
