import { type ErrorCode, KeelError } from "@keel/core";

/**
 * The serving package's one error class. `retryable` marks failures where the request was
 * certainly not executed (queue full, connection refused), so a caller may resend it.
 */
export class ServingError extends KeelError {
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(code, message, undefined, { cause: opts.cause });
    this.name = "ServingError";
    this.retryable = opts.retryable ?? false;
  }
}

export const badInput = (message: string, cause?: unknown) =>
  new ServingError("INVALID_PARAMETER_VALUE", message, { cause });
export const missing = (message: string) => new ServingError("RESOURCE_DOES_NOT_EXIST", message);
export const unavailable = (message: string) =>
  new ServingError("TEMPORARILY_UNAVAILABLE", message, { retryable: true });
