export { algorithmFor, stoppingRuleFor } from "./algorithms";
export { GridSearch } from "./algorithms/grid";
export { CategoricalEstimator, ParzenEstimator } from "./algorithms/parzen";
export type { Observation, SearchAlgorithm, SuggestRequest, TrialStatus } from "./algorithms/port";
export { RandomSearch } from "./algorithms/random";
export { type TpeOptions, TpeSearch } from "./algorithms/tpe";
export { compileTuning, TUNING_STATE, type TuningAslBindings } from "./asl";
export { type ControllerDeps, type ModelRegistrar, type RunOptions, TuningController } from "./controller";
export {
  defineTuning,
  isTuningDefinition,
  type ObjectiveFunction,
  type TrainTrial,
  TUNING_NAME,
  type TuningDefinition,
  type TuningInput,
  type TuningSpec,
  tuningsIn,
} from "./definition";
export { bestOf, observationsOf, PROGRESS_PARAM, progressPath } from "./experiment-state";
export { createTuningModule, type TuningModule, type TuningModuleOptions } from "./module";
export { type RegistryApi, registryRegistrar } from "./registrar";
export { Rng, trialRng } from "./rng";
export { functionRunner } from "./runners/function-runner";
export { type PipelineRunsApi, pipelineRunner, stepMetrics } from "./runners/pipeline-runner";
export { type TrainRunnerOptions, trainRunner } from "./runners/train-runner";
export { type TuningPipelinesApi, TuningService, type TuningServiceDeps } from "./service";
export {
  choice,
  gridOf,
  intRange,
  isActive,
  logUniform,
  type ParameterSpec,
  type Params,
  type ParamValue,
  type Space,
  sampleSpace,
  uniform,
  validateSpace,
} from "./space";
export {
  type ControllerEvent,
  flattenMetrics,
  type ProgressRound,
  type TrialResultItem,
  TuningStepController,
} from "./step-controller";
export { type AshaOptions, AshaRule } from "./stopping/asha";
export { type MedianOptions, MedianStoppingRule } from "./stopping/median";
export type { StoppingRule, TrialProgress } from "./stopping/port";
export {
  type BestTrial,
  type ExperimentRecord,
  type ExperimentStatus,
  type TrialRecord,
  TuningStore,
} from "./store";
export { summarize, type TuningSummary } from "./summary";
export { branin, hartmann6, type TestFunction } from "./test-functions";
export { SUMMARY_ARTIFACT, TUNING_TAGS, TuningTracking, type TuningTrackingApi } from "./tracking";
export {
  type TrialContext,
  type TrialReporter,
  type TrialResult,
  type TrialRunner,
  TrialStopped,
} from "./trial-runner";
