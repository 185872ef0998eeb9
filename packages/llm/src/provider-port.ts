import type {
  ChatChunk,
  ChatCompletion,
  ChatRequest,
  EmbeddingRequest,
  EmbeddingResponse,
} from "./openai-types";

/**
 * THE provider port: one upstream deployment of a model, spoken to in OpenAI's shapes. The
 * OpenAI-compatible HTTP provider (vLLM, TGI, Ollama, OpenAI, Azure OpenAI), Bedrock
 * (Converse/ConverseStream) and SageMaker (InvokeEndpoint[WithResponseStream]) implement it;
 * tests/conformance/llm-provider.suite.ts holds every one of them to the same behaviour.
 *
 * `request.model` is the upstream's own model name (the deployment's), not the route's.
 * Failures are ProviderError: `status` is the upstream's HTTP status (or 504 for a timeout,
 * 502 for a broken connection), so the router can decide fallback and retry the same way
 * whatever the provider.
 */
export interface LlmProvider {
  /** `openai`, `bedrock`, `sagemaker` or a virtual provider's name. */
  readonly kind: string;
  chat(request: ChatRequest, signal: AbortSignal, opts?: CallOptions): Promise<ChatCompletion>;
  /** Chunks as they come; the last may carry `usage` (asked for with stream_options.include_usage). */
  chatStream(request: ChatRequest, signal: AbortSignal, opts?: CallOptions): AsyncIterable<ChatChunk>;
  /** Absent when the provider has no embeddings (the gateway answers 400). */
  embeddings?(request: EmbeddingRequest, signal: AbortSignal, opts?: CallOptions): Promise<EmbeddingResponse>;
}

/** Per-call transport settings a provider may use (the signal already carries the timeout). */
export interface CallOptions {
  /** The route's per-try timeout: the HTTP transport's headers and body (idle) timeouts. */
  timeoutMs?: number;
}

/** An upstream failure, with what the router needs to decide: the status, and Retry-After if given. */
export class ProviderError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
    /** The upstream's OpenAI-shaped error body, when it sent one (a 4xx passes it to the caller). */
    readonly body?: { message?: string; type?: string; param?: string | null; code?: string | null },
  ) {
    super(message);
    this.name = "ProviderError";
  }

  /** Worth another deployment: 5xx, timeout, 429 (not a caller's 4xx mistake). */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** A timeout or broken connection as a ProviderError (other errors pass through). */
export function asProviderError(e: unknown, signal?: AbortSignal): ProviderError {
  if (e instanceof ProviderError) return e;
  if (signal?.aborted) return new ProviderError(504, "upstream timed out");
  // The HTTP transport's own headers/body timeouts (undici) are timeouts too.
  const code = (e as { code?: string })?.code;
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT")
    return new ProviderError(504, `upstream timed out (${code})`);
  const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const name = (e as { name?: string })?.name ?? "";
  if (name === "ThrottlingException") return new ProviderError(429, (e as Error).message);
  if (typeof status === "number") return new ProviderError(status, (e as Error).message);
  return new ProviderError(502, `upstream unreachable: ${(e as Error)?.message ?? String(e)}`);
}

/**
 * The hook for virtual model names: another package registers a provider for a prefix
 * (e.g. `rag:` — the RAG helper serves `rag:<kb>`), and every request whose model starts with
 * it goes to that provider with the full model name, through the same keys, limits, budgets,
 * guardrails, cache and usage log as routed models. `list` names the models for `/models`.
 */
export interface VirtualModelProvider {
  prefix: string;
  provider: LlmProvider;
  list?(): Promise<string[]>;
  /** Price per 1,000 tokens, for usage cost (default 0). */
  price?: { input: number; output: number };
}
