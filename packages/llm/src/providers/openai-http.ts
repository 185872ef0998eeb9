import type {
  ChatChunk,
  ChatCompletion,
  ChatRequest,
  EmbeddingRequest,
  EmbeddingResponse,
} from "../openai-types";
import { asProviderError, type CallOptions, type LlmProvider, ProviderError } from "../provider-port";
import { sseData } from "./sse";
import { sharedUpstreamPools, type UpstreamAnswer, type UpstreamPools } from "./upstream-pool";

export interface OpenAIHttpOptions {
  /** Base URL including the version segment, e.g. `http://localhost:11434/v1` (Ollama), `https://api.openai.com/v1`. */
  baseURL: string;
  apiKey?: string;
  /** Azure OpenAI: `api-key` header and `?api-version=` instead of a Bearer token. */
  azureApiVersion?: string;
  headers?: Record<string, string>;
  /** The keep-alive connection pools (default: the process's shared pools, one per origin). */
  pools?: UpstreamPools;
}

/** Any OpenAI-compatible server: vLLM, TGI (Messages API), Ollama, OpenAI, Azure OpenAI. */
export class OpenAIHttpProvider implements LlmProvider {
  readonly kind = "openai";
  private readonly base: string;
  private readonly pools: UpstreamPools;
  private readonly fixedHeaders: Record<string, string>;
  constructor(private readonly opts: OpenAIHttpOptions) {
    this.base = opts.baseURL.replace(/\/+$/, "");
    this.pools = opts.pools ?? sharedUpstreamPools;
    this.fixedHeaders = this.headers();
  }

  private url(path: string): string {
    const q = this.opts.azureApiVersion
      ? `?api-version=${encodeURIComponent(this.opts.azureApiVersion)}`
      : "";
    return `${this.base}${path}${q}`;
  }

  private headers(): Record<string, string> {
    const auth: Record<string, string> = this.opts.apiKey
      ? this.opts.azureApiVersion
        ? { "api-key": this.opts.apiKey }
        : { authorization: `Bearer ${this.opts.apiKey}` }
      : {};
    return { "content-type": "application/json", ...auth, ...this.opts.headers };
  }

  private async post(
    path: string,
    body: unknown,
    signal: AbortSignal,
    opts: CallOptions | undefined,
  ): Promise<UpstreamAnswer> {
    let res: UpstreamAnswer;
    try {
      res = await this.pools.request({
        method: "POST",
        url: this.url(path),
        headers: this.fixedHeaders,
        body: JSON.stringify(body),
        signal,
        timeoutMs: opts?.timeoutMs,
      });
    } catch (e) {
      throw asProviderError(e, signal);
    }
    if (res.status < 200 || res.status >= 300) throw await errorOf(res);
    return res;
  }

  async chat(request: ChatRequest, signal: AbortSignal, opts?: CallOptions): Promise<ChatCompletion> {
    const res = await this.post("/chat/completions", { ...request, stream: false }, signal, opts);
    try {
      return (await res.json()) as ChatCompletion;
    } catch (e) {
      throw asProviderError(e, signal);
    }
  }

  async *chatStream(request: ChatRequest, signal: AbortSignal, opts?: CallOptions): AsyncIterable<ChatChunk> {
    const res = await this.post("/chat/completions", { ...request, stream: true }, signal, opts);
    let done = false;
    try {
      for await (const data of sseData(res.body)) yield JSON.parse(data) as ChatChunk;
      done = true;
    } catch (e) {
      throw asProviderError(e, signal);
    } finally {
      // The caller went away (or stopped reading) mid-stream: close the upstream request so
      // the model stops generating for nobody.
      if (!done) res.body.destroy();
    }
  }

  async embeddings(
    request: EmbeddingRequest,
    signal: AbortSignal,
    opts?: CallOptions,
  ): Promise<EmbeddingResponse> {
    const res = await this.post("/embeddings", request, signal, opts);
    try {
      return (await res.json()) as EmbeddingResponse;
    } catch (e) {
      throw asProviderError(e, signal);
    }
  }
}

async function errorOf(res: UpstreamAnswer): Promise<ProviderError> {
  const text = await res.text().catch(() => "");
  let body: ProviderError["body"];
  try {
    body = (JSON.parse(text) as { error?: ProviderError["body"] }).error;
  } catch {
    body = undefined;
  }
  const retryAfter = Number(res.header("retry-after"));
  return new ProviderError(
    res.status,
    body?.message ?? `upstream answered ${res.status}: ${text.slice(0, 200)}`,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    body,
  );
}
