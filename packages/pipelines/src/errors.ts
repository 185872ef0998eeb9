import { type ErrorCode, KeelError } from "@keel/core";

/** Errors of the pipelines package: bad definitions, unknown pipelines or runs, executor failures. */
export class PipelineError extends KeelError {
  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
    this.name = "PipelineError";
  }
}

export const badDefinition = (message: string, details?: Record<string, unknown>) =>
  new PipelineError("INVALID_PARAMETER_VALUE", message, details);
export const noSuch = (message: string) => new PipelineError("RESOURCE_DOES_NOT_EXIST", message);

/**
 * Errors a step raises inside a running state machine. `name` becomes the ASL `Error` field,
 * so Retry/Catch rules and run history can match on it.
 */
export class StepFailure extends Error {
  constructor(name: `Keel.${string}`, message: string) {
    super(message);
    this.name = name;
  }
}
