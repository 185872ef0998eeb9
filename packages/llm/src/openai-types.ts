/**
 * The OpenAI wire shapes the gateway speaks on both sides: what clients send to `/llm/v1` and
 * what every provider answers, whatever it speaks upstream (Bedrock and SageMaker providers
 * translate). Requests are loose objects: unknown fields pass through to OpenAI-compatible
 * upstreams unchanged.
 */
export interface ChatMessage {
  role: string;
  content: unknown;
  [k: string]: unknown;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  [k: string]: unknown;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: string; content: string | null; [k: string]: unknown };
    finish_reason: string | null;
    [k: string]: unknown;
  }>;
  usage?: Usage;
  [k: string]: unknown;
}

export interface ChatChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: string; content?: string | null; [k: string]: unknown };
    finish_reason: string | null;
    [k: string]: unknown;
  }>;
  usage?: Usage | null;
  [k: string]: unknown;
}

export interface EmbeddingRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  [k: string]: unknown;
}

export interface EmbeddingResponse {
  object: "list";
  model: string;
  data: Array<{ object: "embedding"; index: number; embedding: number[] | string }>;
  usage?: { prompt_tokens: number; total_tokens: number };
}

/** The text of a message's content (a string, or the text parts of a content array). */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .map((p) => (p && typeof p === "object" && typeof p.text === "string" ? p.text : ""))
      .join(" ");
  return "";
}

/** Builds a chunk of a stream (helpers for providers that translate another protocol). */
export function chunkOf(
  base: { id: string; created: number; model: string },
  delta: ChatChunk["choices"][number]["delta"],
  finish: string | null = null,
): ChatChunk {
  return { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] };
}
