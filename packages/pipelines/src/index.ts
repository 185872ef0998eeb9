export {
  definePipeline,
  isPipelineDefinition,
  type Condition,
  type Json,
  type JsonObject,
  type PipelineDefinition,
  type PipelineInput,
  type Step,
  type StepContext,
  type StepHandler,
  type StepInput,
} from "./definition";
export { BuiltinStepRegistry, type AslBindings, type BuiltinAslTask, type BuiltinStepKind } from "./builtin-steps";
export { compilePipeline, instanceTypeFor, LOCAL_BINDINGS, STATE, type AslDefinition, type CompiledPipeline, type CompileOptions } from "./compiler";
export { PipelineError, StepFailure } from "./errors";
export { executionInputSchema, validateExecutionInput, type ExecutionInput } from "./execution-input";
export * from "./executor-port";
export { LocalPipelineExecutor, type LocalMachine } from "./local-executor";
export { StepFunctionsPipelineExecutor, type StepFunctionsExecutorOptions } from "./stepfunctions-executor";
export { RunStore, type PipelineRun, type StepRecord, type StepStatus, type Trigger } from "./run-store";
export { StepRuntime } from "./step-runtime";
export { PipelineService, dateRange, pipelinesIn, type PipelineServiceDeps, type StartRunOptions } from "./service";
export { type PipelineTracking, TAG as TRACKING_TAGS } from "./tracking-link";
export { nextFireTime, parseCron, toEventBridgeCron } from "./cron";
export { LocalScheduler } from "./scheduler";
export { createPipelinesModule, type PipelinesModule, type PipelinesModuleDeps, type PipelinesModuleOptions } from "./module";
