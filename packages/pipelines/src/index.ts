export {
  type AslBindings,
  type BuiltinAslTask,
  type BuiltinStepKind,
  BuiltinStepRegistry,
} from "./builtin-steps";
export {
  type AslDefinition,
  type CompiledPipeline,
  type CompileOptions,
  compilePipeline,
  instanceTypeFor,
  LOCAL_BINDINGS,
  STATE,
} from "./compiler";
export { runContainerProcess } from "./container-process";
export { nextFireTime, parseCron, toEventBridgeCron } from "./cron";
export {
  type Condition,
  definePipeline,
  isPipelineDefinition,
  type Json,
  type JsonObject,
  type PipelineDefinition,
  type PipelineInput,
  type Step,
  type StepContext,
  type StepHandler,
  type StepInput,
} from "./definition";
export { PipelineError, StepFailure } from "./errors";
export { type ExecutionInput, executionInputSchema, validateExecutionInput } from "./execution-input";
export * from "./executor-port";
export { codeFrame, importPipelineFile } from "./load-file";
export { type LocalMachine, LocalPipelineExecutor } from "./local-executor";
export {
  createPipelinesModule,
  type PipelinesModule,
  type PipelinesModuleDeps,
  type PipelinesModuleOptions,
} from "./module";
export {
  compareRuns,
  type MetricComparison,
  type ModelComparison,
  type ReproductionReport,
  readRunRecord,
  runRecordPath,
} from "./reproducibility";
export { type PipelineRun, RunStore, type StepRecord, type StepStatus, type Trigger } from "./run-store";
export { LocalScheduler } from "./scheduler";
export {
  dateRange,
  PipelineService,
  type PipelineServiceDeps,
  pipelinesIn,
  type StartRunOptions,
} from "./service";
export { createStepLambdaHandler } from "./step-lambda";
export { StepRuntime } from "./step-runtime";
export {
  type StepFunctionsExecutorOptions,
  StepFunctionsPipelineExecutor,
  stateMachineName,
} from "./stepfunctions-executor";
export { type PipelineTracking, TAG as TRACKING_TAGS } from "./tracking-link";
