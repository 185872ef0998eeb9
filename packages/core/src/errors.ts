/**
 * Keel's error model. Every package defines its own subclass in `src/errors.ts`; the HTTP
 * layer maps `code` to a status through `httpStatusFor` and never returns the text of an
 * error that is not a KeelError.
 */
export const ERROR_CODES = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  MALFORMED_REQUEST: 400,
  INVALID_STATE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_ALREADY_EXISTS: 409,
  ABORTED: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  RESOURCE_EXHAUSTED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  MISDIRECTED_REQUEST: 421,
  INTERNAL_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class KeelError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  /** `options.cause` is the lower error this one wraps (ES2022 error cause), kept for logs and `--debug`. */
  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "KeelError";
    this.code = code;
    this.details = details;
  }
}

export function httpStatusFor(code: ErrorCode): number {
  return ERROR_CODES[code] ?? 500;
}

export function isKeelError(e: unknown): e is KeelError {
  return e instanceof KeelError;
}

export const invalid = (message: string, details?: Record<string, unknown>) =>
  new KeelError("INVALID_PARAMETER_VALUE", message, details);
export const notFound = (message: string) => new KeelError("RESOURCE_DOES_NOT_EXIST", message);
export const alreadyExists = (message: string) => new KeelError("RESOURCE_ALREADY_EXISTS", message);
export const denied = (message: string) => new KeelError("PERMISSION_DENIED", message);
