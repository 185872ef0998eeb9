import { type ErrorCode, KeelError } from "@keel/core";

/** Errors of the fraud-detection example: a platform call that failed, or an outcome the quickstart needs but did not get. */
export class ExampleError extends KeelError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
    this.name = "ExampleError";
  }
}
