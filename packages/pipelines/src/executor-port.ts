import type { Json } from "./definition";

/**
 * PipelineExecutor: runs compiled pipelines as state machine executions. Two adapters:
 * Step Functions (`StepFunctionsPipelineExecutor`) and the in-process ASL runner
 * (`LocalPipelineExecutor`); both pass `tests/conformance/pipeline-executor.suite.ts`.
 */
export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

export const TERMINAL: ReadonlySet<ExecutionStatus> = new Set([
  "SUCCEEDED",
  "FAILED",
  "TIMED_OUT",
  "ABORTED",
]);

export interface StartExecutionRequest {
  pipeline: string;
  /** Execution name, unique per pipeline (Keel uses the run id). */
  name: string;
  input: Json;
}

export interface ExecutionDescription {
  executionId: string;
  pipeline: string;
  name: string;
  status: ExecutionStatus;
  startTime: number;
  stopTime?: number;
  output?: Json;
  error?: string;
  cause?: string;
}

export type ExecutionEventType =
  | "ExecutionStarted"
  | "ExecutionSucceeded"
  | "ExecutionFailed"
  | "ExecutionAborted"
  | "ExecutionTimedOut"
  | "StateEntered"
  | "StateExited"
  | "StateFailed"
  | "StateRetried"
  | "StateCaught";

/** One history event, normalized across adapters. */
export interface ExecutionEvent {
  /** 1, 2, 3...: the order events happened in, without gaps. */
  seq: number;
  time: number;
  type: ExecutionEventType;
  /** State name for State* events. */
  state?: string;
  /** Map iteration the state ran in. */
  index?: number;
  input?: Json;
  output?: Json;
  error?: string;
  cause?: string;
  /** For StateRetried: the attempt that failed (1 = the first). */
  attempt?: number;
}

export interface PipelineExecutor {
  /** "local" or "stepfunctions". */
  readonly kind: string;
  /**
   * Starts an execution of the pipeline's state machine. Idempotent: the same name with the
   * same input returns the existing execution; the same name with another input throws
   * RESOURCE_ALREADY_EXISTS. Unknown pipeline: RESOURCE_DOES_NOT_EXIST.
   */
  start(req: StartExecutionRequest): Promise<{ executionId: string; startTime: number }>;
  /** Current status; RESOURCE_DOES_NOT_EXIST for an unknown execution id. */
  describe(executionId: string): Promise<ExecutionDescription>;
  /**
   * Events with `seq > after`, in order. When there are none yet and the execution is still
   * running, waits up to `waitMs` for some before returning (possibly empty).
   */
  history(executionId: string, opts?: { after?: number; waitMs?: number }): Promise<ExecutionEvent[]>;
  /** Stops a running execution (status ABORTED); stopping a finished one changes nothing. */
  stop(executionId: string, opts?: { error?: string; cause?: string }): Promise<void>;
}
