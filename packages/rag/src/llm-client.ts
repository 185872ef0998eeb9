import { KeelError } from "@keel/core";

/** One chat message (OpenAI shape, text content only). */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
}

export interface ChatResult {
  content: string;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface RerankResult {
  /** Position of the text in the request. */
  index: number;
  score: number;
}

/**
 * What RAG needs from a model provider: embeddings, chat (whole or streamed) and rerank. The
 * gateway (`/llm/v1`) or any OpenAI-compatible server answers it through `OpenAiHttpLlmClient`;
 * keys, budgets, caching and guardrails are the gateway's business, not RAG's.
 */
export interface LlmClient {
  embed(model: string, texts: string[]): Promise<number[][]>;
  chat(req: ChatRequest): Promise<ChatResult>;
  chatStream(req: ChatRequest): AsyncIterable<string>;
  rerank(model: string | undefined, query: string, texts: string[]): Promise<RerankResult[]>;
}

export interface OpenAiHttpOptions {
  /** Base URL including the version segment, e.g. `http://localhost:5000/llm/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer`; a function is asked per call (e.g. a key read from Secrets Manager). */
  apiKey?: string | (() => Promise<string>);
  /** Base of the TEI-style `POST /rerank`; default `baseUrl`. */
  rerankUrl?: string;
  /** Extra headers per call (e.g. the caller's own Authorization toward the platform's gateway). */
  headers?: () => Record<string, string>;
  fetch?: typeof fetch;
  /** Texts per embeddings request. */
  embedBatch?: number;
  /** Deadline of one call, a streamed answer included (default 120 s). */
  timeoutMs?: number;
}

const trim = (u: string) => u.replace(/\/+$/, "");

/** The OpenAI-compatible HTTP adapter: `/embeddings`, `/chat/completions` (JSON or SSE), `/rerank`. */
export class OpenAiHttpLlmClient implements LlmClient {
  private readonly base: string;
  private readonly rerankBase: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly opts: OpenAiHttpOptions) {
    this.base = trim(opts.baseUrl);
    this.rerankBase = trim(opts.rerankUrl ?? opts.baseUrl);
    this.doFetch = opts.fetch ?? fetch;
  }

  private async headers(): Promise<Record<string, string>> {
    const { apiKey } = this.opts;
    const key = typeof apiKey === "function" ? await apiKey() : apiKey;
    return {
      "content-type": "application/json",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(this.opts.headers?.() ?? {}),
    };
  }

  private async post(url: string, body: unknown, what: string): Promise<Response> {
    const headers = await this.headers();
    let res: Response;
    try {
      res = await this.doFetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 120_000),
      });
    } catch (e) {
      throw new KeelError("TEMPORARILY_UNAVAILABLE", `${what}: cannot reach ${url}: ${(e as Error).message}`);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      let message = text.slice(0, 300);
      try {
        const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
        message = (typeof j.error === "string" ? j.error : j.error?.message) ?? j.message ?? message;
      } catch {}
      const code =
        res.status === 429
          ? "RESOURCE_EXHAUSTED"
          : res.status < 500
            ? "INVALID_PARAMETER_VALUE"
            : "TEMPORARILY_UNAVAILABLE";
      throw new KeelError(code, `${what} failed (${res.status} from ${url}): ${message}`);
    }
    return res;
  }

  async embed(model: string, texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    const batch = this.opts.embedBatch ?? 64;
    for (let i = 0; i < texts.length; i += batch) {
      const slice = texts.slice(i, i + batch);
      const res = await this.post(
        `${this.base}/embeddings`,
        { model, input: slice },
        `embeddings (${model})`,
      );
      const j = (await res.json()) as { data: Array<{ index: number; embedding: number[] }> };
      const sorted = [...j.data].sort((a, b) => a.index - b.index);
      if (sorted.length !== slice.length)
        throw new KeelError(
          "INTERNAL_ERROR",
          `embeddings (${model}) answered ${sorted.length} of ${slice.length}`,
        );
      for (const d of sorted) out.push(d.embedding);
    }
    return out;
  }

  private chatBody(req: ChatRequest, stream: boolean) {
    return {
      model: req.model,
      messages: req.messages,
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
      ...(stream ? { stream: true } : {}),
    };
  }

  async chat(req: ChatRequest): Promise<ChatResult> {
    const res = await this.post(
      `${this.base}/chat/completions`,
      this.chatBody(req, false),
      `chat (${req.model})`,
    );
    const j = (await res.json()) as {
      choices: Array<{ message: { content: string | null } }>;
      usage?: ChatResult["usage"];
    };
    return { content: j.choices[0]?.message?.content ?? "", usage: j.usage };
  }

  async *chatStream(req: ChatRequest): AsyncIterable<string> {
    const res = await this.post(
      `${this.base}/chat/completions`,
      this.chatBody(req, true),
      `chat (${req.model})`,
    );
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(part, { stream: true });
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf("\n");
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const j = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> };
        const delta = j.choices?.[0]?.delta?.content;
        if (delta) yield delta;
      }
    }
  }

  async rerank(model: string | undefined, query: string, texts: string[]): Promise<RerankResult[]> {
    if (texts.length === 0) return [];
    const res = await this.post(
      `${this.rerankBase}/rerank`,
      { ...(model ? { model } : {}), query, texts, documents: texts },
      "rerank",
    );
    const j = (await res.json()) as
      | RerankResult[]
      | { results: Array<{ index: number; relevance_score?: number; score?: number }> };
    if (Array.isArray(j)) return j;
    return j.results.map((r) => ({ index: r.index, score: r.relevance_score ?? r.score ?? 0 }));
  }
}
