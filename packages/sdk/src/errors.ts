import { ERROR_CODES, type ErrorCode, KeelError } from "@keel/core";

/**
 * An error answer from a Keel server: the MLflow error JSON (`{error_code, message}`), or
 * KServe v2's `{error}`, and the HTTP status. `code` is Keel's code when the server sent a
 * known one (else the code its status maps to, else INTERNAL_ERROR); `errorCode` is always
 * exactly what the server sent (or that code).
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

/** No answer at all: the server is down, the URL is wrong, or the network failed. */
export class KeelConnectionError extends KeelError {
  readonly url: string;
  constructor(url: string, reason: string) {
    super("TEMPORARILY_UNAVAILABLE", `cannot reach Keel at ${url}: ${reason}`);
    this.name = "KeelConnectionError";
    this.url = url;
  }
}

/** The most useful words of a fetch failure: `ECONNREFUSED`, `ENOTFOUND`, a TLS error... */
export function connectionReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.message ? `${cause.code} (${cause.message})` : cause.code;
  return cause?.message ?? (e instanceof Error ? e.message : String(e));
}

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: "INVALID_PARAMETER_VALUE",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "RESOURCE_DOES_NOT_EXIST",
  409: "RESOURCE_ALREADY_EXISTS",
  413: "PAYLOAD_TOO_LARGE",
  429: "REQUEST_LIMIT_EXCEEDED",
  501: "NOT_IMPLEMENTED",
  503: "TEMPORARILY_UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** The error an answer with a non-2xx status stands for. */
export function apiError(status: number, json: unknown, what: string, text: string): KeelApiError {
  const err = (json ?? {}) as { error_code?: string; message?: string; error?: string };
  if (err.error_code)
    return new KeelApiError(err.error_code, status, err.message ?? `${what} failed with HTTP ${status}`);
  if (typeof err.error === "string")
    return new KeelApiError(CODE_FOR_STATUS[status] ?? "INTERNAL_ERROR", status, err.error);
  return new KeelApiError(
    status === 404 ? "ENDPOINT_NOT_FOUND" : "INTERNAL_ERROR",
    status,
    `${what} failed with HTTP ${status}: ${text.slice(0, 200)}`,
  );
}
