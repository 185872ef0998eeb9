import { type ErrorCode, KeelError } from "@keel/core";

/**
 * Gateway errors in OpenAI's shape (`{"error": {message, type, param, code}}`), with the status
 * OpenAI uses for each: 400 invalid request, 401 bad key, 403 not allowed, 404 model_not_found,
 * 429 rate limit or budget, 5xx only for upstream failures after every fallback.
 */
const KINDS = {
  invalid: { status: 400, type: "invalid_request_error" },
  pii: { status: 400, type: "invalid_request_error" },
  unauthenticated: { status: 401, type: "authentication_error" },
  denied: { status: 403, type: "permission_error" },
  not_found: { status: 404, type: "invalid_request_error" },
  rate_limited: { status: 429, type: "rate_limit_error" },
  budget: { status: 429, type: "insufficient_quota" },
  upstream: { status: 502, type: "server_error" },
  timeout: { status: 504, type: "server_error" },
  unavailable: { status: 503, type: "server_error" },
} as const;
export type LlmErrorKind = keyof typeof KINDS;

const KEEL_CODES: Record<LlmErrorKind, ErrorCode> = {
  invalid: "INVALID_PARAMETER_VALUE",
  pii: "INVALID_PARAMETER_VALUE",
  unauthenticated: "UNAUTHENTICATED",
  denied: "PERMISSION_DENIED",
  not_found: "RESOURCE_DOES_NOT_EXIST",
  rate_limited: "REQUEST_LIMIT_EXCEEDED",
  budget: "RESOURCE_EXHAUSTED",
  upstream: "TEMPORARILY_UNAVAILABLE",
  timeout: "DEADLINE_EXCEEDED",
  unavailable: "TEMPORARILY_UNAVAILABLE",
};

/** A KeelError (so the management API answers Keel's shape) that also renders OpenAI's. */
export class LlmError extends KeelError {
  readonly status: number;
  readonly type: string;
  constructor(
    readonly kind: LlmErrorKind,
    message: string,
    readonly openaiCode: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
    status?: number,
  ) {
    super(KEEL_CODES[kind], message);
    this.name = "LlmError";
    this.status = status ?? KINDS[kind].status;
    this.type = KINDS[kind].type;
  }

  body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.openaiCode } };
  }
}
