import { ERROR_CODES, type ErrorCode, KeelError } from "@keel/core";

/**
 * An error answer from a Keel server: the MLflow error JSON (`{error_code, message}`) and the
 * HTTP status. `code` is Keel's code when the server sent a known one (else INTERNAL_ERROR);
 * `errorCode` is always exactly what the server sent.
 */
export class KeelApiError extends KeelError {
  readonly status: number;
  readonly errorCode: string;
  constructor(errorCode: string, status: number, message: string) {
    super(errorCode in ERROR_CODES ? (errorCode as ErrorCode) : "INTERNAL_ERROR", message);
    this.name = "KeelApiError";
    this.status = status;
    this.errorCode = errorCode;
  }
}

export function isKeelApiError(e: unknown, code?: string): e is KeelApiError {
  return e instanceof KeelApiError && (code === undefined || e.errorCode === code);
}
