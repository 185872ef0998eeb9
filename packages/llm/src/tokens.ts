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

export function countPrompt(request: ChatRequest): number {
  let n = 3;
  for (const m of request.messages) n += 3 + countText(contentText(m.content));
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
