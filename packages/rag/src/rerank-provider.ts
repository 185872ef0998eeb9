import type { LlmClient, RerankResult } from "./llm-client";

/**
 * The rerank port: scores `texts` against `query` (a cross-encoder), one result per text it
 * kept, by position. Adapters: the TEI-style HTTP `/rerank` of `OpenAiHttpLlmClient`, and
 * Bedrock's Rerank API (`BedrockReranker`); `model` is the knowledge base's `rerank.model`.
 */
export interface RerankProvider {
  rerank(model: string | undefined, query: string, texts: string[]): Promise<RerankResult[]>;
}

/** `llm` with its rerank answered by `reranker` (embeddings and chat unchanged). */
export function withReranker(llm: LlmClient, reranker: RerankProvider): LlmClient {
  return {
    embed: (model, texts) => llm.embed(model, texts),
    chat: (req) => llm.chat(req),
    chatStream: (req) => llm.chatStream(req),
    rerank: (model, query, texts) => reranker.rerank(model, query, texts),
  };
}
