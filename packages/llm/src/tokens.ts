import { BoundedCache } from "@keel/core";
import { countTokens } from "gpt-tokenizer";
import { type ChatRequest, contentText, type EmbeddingRequest } from "./openai-types";

/**
 * Token counts when a provider reports no usage: the cl100k/o200k BPE of `gpt-tokenizer`
 * (OpenAI's, a close estimate for Llama/Mistral-family models), plus OpenAI's per-message
 * overhead of 3 tokens and 3 for the reply's priming.
 */
export function countText(text: string): number {
  return text ? countTokens(text) : 0;
}

/** Counts of recent messages: system prompts and few-shot examples repeat across requests. */
const messageCounts = new BoundedCache<string, number>({ maxEntries: 2000 });
const CACHED_MAX_CHARS = 8192;

export function countPrompt(request: ChatRequest): number {
  let n = 3;
  for (const m of request.messages) {
    const text = contentText(m.content);
    if (text.length > CACHED_MAX_CHARS) {
      n += 3 + countText(text);
      continue;
    }
    let c = messageCounts.get(text);
    if (c === undefined) {
      c = countText(text);
      messageCounts.set(text, c);
    }
    n += 3 + c;
  }
  return n;
}

export function countEmbeddingInput(request: EmbeddingRequest): number {
  const input = request.input;
  if (typeof input === "string") return countText(input);
  if (Array.isArray(input))
    return input.reduce<number>(
      (n, x) => n + (typeof x === "string" ? countText(x) : Array.isArray(x) ? x.length : 1),
      0,
    );
  return 0;
}
