import type {
  ChatChunk,
  ChatCompletion,
  ChatRequest,
  EmbeddingRequest,
  EmbeddingResponse,
} from "../openai-types";
import { asProviderError, type LlmProvider, ProviderError } from "../provider-port";
import { sseData } from "./sse";

export interface OpenAIHttpOptions {
  /** Base URL including the version segment, e.g. `http://localhost:11434/v1` (Ollama), `https://api.openai.com/v1`. */
  baseURL: string;
  apiKey?: string;
  /** Azure OpenAI: `api-key` header and `?api-version=` instead of a Bearer token. */
  azureApiVersion?: string;
  headers?: Record<string, string>;
}

/** Any OpenAI-compatible server: vLLM, TGI (Messages API), Ollama, OpenAI, Azure OpenAI. */
export class OpenAIHttpProvider implements LlmProvider {
  readonly kind = "openai";
  private readonly base: string;
  constructor(private readonly opts: OpenAIHttpOptions) {
    this.base = opts.baseURL.replace(/\/+$/, "");
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

  private async post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method: "POST",
        headers: this.headers(),
        body: JSON.stringify(body),
        signal,
      });
    } catch (e) {
      throw asProviderError(e, signal);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  async chat(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    const res = await this.post("/chat/completions", { ...request, stream: false }, signal);
    try {
      return (await res.json()) as ChatCompletion;
    } catch (e) {
      throw asProviderError(e, signal);
    }
  }

  async *chatStream(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk> {
    const res = await this.post("/chat/completions", { ...request, stream: true }, signal);
    if (!res.body) throw new ProviderError(502, "upstream sent no stream");
    try {
      for await (const data of sseData(res.body)) yield JSON.parse(data) as ChatChunk;
    } catch (e) {
      throw asProviderError(e, signal);
    }
  }

  async embeddings(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResponse> {
    const res = await this.post("/embeddings", request, signal);
    return (await res.json()) as EmbeddingResponse;
  }
}

async function errorOf(res: Response): Promise<ProviderError> {
  const text = await res.text().catch(() => "");
  let body: ProviderError["body"];
  try {
    body = (JSON.parse(text) as { error?: ProviderError["body"] }).error;
  } catch {
    body = undefined;
  }
  const retryAfter = Number(res.headers.get("retry-after"));
  return new ProviderError(
    res.status,
    body?.message ?? `upstream answered ${res.status}: ${text.slice(0, 200)}`,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    body,
  );
}
