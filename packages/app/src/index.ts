export * from "./adapters";
export { FrontAdmission, type FrontAdmissionOptions, frontAdmissionConfig } from "./admission-front";
export { createApp } from "./app";
export * from "./module";
export { awsBuiltinSteps, createPipelineStepHandler } from "./pipeline-step";
export { createPlatform, type Platform, type PlatformOptions } from "./platform";
export {
  type KeelProject,
  loadProject,
  PROJECT_ENTRIES,
  type ProjectQuickstart,
  type QuickstartContext,
} from "./project";
export { type RequestGuardOptions, requestGuards } from "./request-guards";
export { createTuningControllerHandler } from "./tuning-controller";
