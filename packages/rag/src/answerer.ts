import { ragAnswerRequestSchema } from "@keel/contract";
import { KeelError, parseWith } from "@keel/core";
import type { z } from "zod";
import { citeSentences, type SentenceCitation, type SourceRef, sourceRefs } from "./citations";
import type { KnowledgeBase } from "./knowledge-base";
import type { ChatMessage, LlmClient } from "./llm-client";
import type { RetrievedChunk, RetrieveResult, Retriever } from "./retriever";

export const answerRequestSchema = ragAnswerRequestSchema;
export type AnswerRequest = z.input<typeof answerRequestSchema>;

export const DEFAULT_PROMPT = [
  "You answer questions using only the numbered sources below.",
  "After every sentence, cite the sources it relies on as [n], e.g. [1] or [2][3].",
  "If the sources do not contain the answer, reply exactly: I don't know.",
  "",
  "Sources:",
  "{context}",
].join("\n");

export const I_DONT_KNOW = "I don't know.";

export interface AnswerResult {
  answer: string;
  /** false when nothing relevant was found (the model was not asked) or the model said it does not know. */
  answered: boolean;
  reason?: "no_relevant_chunks" | "model_declined";
  mode: RetrieveResult["mode"];
  notice?: string;
  model?: string;
  citations: SentenceCitation[];
  sources: SourceRef[];
  chunks: RetrievedChunk[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export type AnswerEvent =
  | { type: "sources"; mode: RetrieveResult["mode"]; notice?: string; sources: SourceRef[] }
  | { type: "delta"; text: string }
  | { type: "done"; result: Omit<AnswerResult, "chunks"> };

function renderContext(chunks: RetrievedChunk[]): string {
  return chunks
    .map((c, i) => `[${i + 1}] ${c.title}${c.heading ? ` — ${c.heading}` : ""} (${c.source})\n${c.text}`)
    .join("\n\n");
}

/** The messages sent to the model: the prompt template with the numbered chunks, then the question. */
export function buildMessages(kb: KnowledgeBase, question: string, chunks: RetrievedChunk[]): ChatMessage[] {
  const template = kb.prompt ?? DEFAULT_PROMPT;
  const context = renderContext(chunks);
  let system = template.replaceAll("{question}", question);
  system = system.includes("{context}")
    ? system.replaceAll("{context}", context)
    : `${system}\n\nSources:\n${context}`;
  return [
    { role: "system", content: system },
    { role: "user", content: question },
  ];
}

const declined = (text: string) => /^\s*i\s+(do not|don['’]t)\s+know\b/i.test(text);

/** Answers from a knowledge base: retrieval, the prompt, generation, citations; "I don't know" below the threshold. */
export class Answerer {
  constructor(
    private readonly retriever: Retriever,
    private readonly llm: LlmClient,
  ) {}

  private async prepare(kb: KnowledgeBase, raw: AnswerRequest) {
    const req = parseWith(answerRequestSchema, raw, "answer request");
    if (!kb.generation)
      throw new KeelError(
        "INVALID_STATE",
        `knowledge base '${kb.name}' has no generation model: set generation.model to answer (retrieval works without one)`,
      );
    const { question, stream: _s, ...retrieval } = req;
    const retrieved = await this.retriever.retrieve(kb, { ...retrieval, query: question });
    const chunks = retrieved.chunks.filter((c) => c.relevant);
    return { question, retrieved, chunks, sources: sourceRefs(chunks), model: kb.generation.model };
  }

  private finish(
    p: Awaited<ReturnType<Answerer["prepare"]>>,
    answer: string,
    usage?: AnswerResult["usage"],
  ): AnswerResult {
    const base = {
      mode: p.retrieved.mode,
      ...(p.retrieved.notice ? { notice: p.retrieved.notice } : {}),
      sources: p.sources,
      chunks: p.chunks,
    };
    if (p.chunks.length === 0)
      return { ...base, answer: I_DONT_KNOW, answered: false, reason: "no_relevant_chunks", citations: [] };
    if (declined(answer))
      return {
        ...base,
        model: p.model,
        answer,
        answered: false,
        reason: "model_declined",
        citations: [],
        usage,
      };
    return {
      ...base,
      model: p.model,
      answer,
      answered: true,
      citations: citeSentences(answer, p.sources, p.chunks),
      ...(usage ? { usage } : {}),
    };
  }

  private chatRequest(kb: KnowledgeBase, p: Awaited<ReturnType<Answerer["prepare"]>>) {
    return {
      model: p.model,
      messages: buildMessages(kb, p.question, p.chunks),
      temperature: kb.generation?.temperature,
      maxTokens: kb.generation?.maxTokens,
    };
  }

  async answer(kb: KnowledgeBase, raw: AnswerRequest): Promise<AnswerResult> {
    const p = await this.prepare(kb, raw);
    if (p.chunks.length === 0) return this.finish(p, I_DONT_KNOW);
    const out = await this.llm.chat(this.chatRequest(kb, p));
    return this.finish(p, out.content.trim(), out.usage);
  }

  /** The same answer as events, the model's text streamed as it comes. */
  async *answerEvents(kb: KnowledgeBase, raw: AnswerRequest): AsyncGenerator<AnswerEvent> {
    const p = await this.prepare(kb, raw);
    yield {
      type: "sources",
      mode: p.retrieved.mode,
      ...(p.retrieved.notice ? { notice: p.retrieved.notice } : {}),
      sources: p.sources,
    };
    let text = "";
    if (p.chunks.length === 0) {
      text = I_DONT_KNOW;
      yield { type: "delta", text };
    } else {
      for await (const delta of this.llm.chatStream(this.chatRequest(kb, p))) {
        text += delta;
        yield { type: "delta", text: delta };
      }
    }
    const { chunks: _c, ...result } = this.finish(p, text.trim());
    yield { type: "done", result };
  }
}
