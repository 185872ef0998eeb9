import { randomUUID } from "node:crypto";
import { KeelError } from "@keel/core";
import type { AnswerResult } from "./answerer";
import type { SourceRef } from "./citations";
import type { RagService } from "./service";

/** Model names `rag:<kb>` on the gateway answer from knowledge base `<kb>`. */
export const RAG_MODEL_PREFIX = "rag:";

export interface OpenAiChatRequest {
  model: string;
  messages: Array<{ role: string; content: unknown }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [k: string]: unknown;
}

function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content.map((p) => (typeof p?.text === "string" ? (p.text as string) : "")).join(" ");
  return "";
}

/** The footer chat clients show: the numbered sources the answer cites. */
export function sourcesFooter(sources: SourceRef[], cited: Set<string>): string {
  const used = sources.filter((s) => cited.has(s.chunkId));
  if (used.length === 0) return "";
  return `\n\nSources:\n${used.map((s) => `[${s.n}] ${s.title}${s.heading ? ` — ${s.heading}` : ""} (${s.source})`).join("\n")}`;
}

const citedIds = (r: Pick<AnswerResult, "citations">) =>
  new Set(r.citations.flatMap((c) => c.sources.map((s) => s.chunkId)));

/** The knowledge base and question an OpenAI chat request names (`rag:<kb>`, its last user message). */
function parseChat(body: OpenAiChatRequest): { kb: string; question: string } {
  if (!body.model?.startsWith(RAG_MODEL_PREFIX))
    throw new KeelError("INVALID_PARAMETER_VALUE", `model must be ${RAG_MODEL_PREFIX}<knowledge base>`);
  const last = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
  const question = last ? text(last.content).trim() : "";
  if (!question)
    throw new KeelError("INVALID_PARAMETER_VALUE", "messages must include a user message with text");
  return { kb: body.model.slice(RAG_MODEL_PREFIX.length), question };
}

/**
 * Knowledge base `<kb>` as an OpenAI chat model `rag:<kb>`: `complete` answers the last user
 * message (retrieval as the current caller, so document-level security holds) as a
 * `chat.completion`; `chunks` streams the same answer as `chat.completion.chunk` objects. The
 * content ends with the cited sources; the structured citations ride along in `citations`
 * (clients that do not know the field ignore it). The gateway serves it as a virtual model.
 */
export function ragChatModel(service: RagService) {
  return {
    async complete(body: OpenAiChatRequest): Promise<Record<string, unknown>> {
      const { kb, question } = parseChat(body);
      const r = await service.answer(kb, { question });
      const content = r.answer + (r.answered ? sourcesFooter(r.sources, citedIds(r)) : "");
      return {
        id: `chatcmpl-rag-${randomUUID()}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: r.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
        citations: r.citations,
        sources: r.sources,
      };
    },

    async *chunks(body: OpenAiChatRequest): AsyncGenerator<Record<string, unknown>> {
      const { kb, question } = parseChat(body);
      const events = await service.answerEvents(kb, { question });
      const base = {
        id: `chatcmpl-rag-${randomUUID()}`,
        object: "chat.completion.chunk",
        created: Math.floor(Date.now() / 1000),
        model: body.model,
      };
      const delta = (d: Record<string, unknown>, finish: string | null = null) => ({
        ...base,
        choices: [{ index: 0, delta: d, finish_reason: finish }],
      });
      yield delta({ role: "assistant", content: "" });
      for await (const e of events) {
        if (e.type === "delta") yield delta({ content: e.text });
        if (e.type === "done") {
          const footer = e.result.answered ? sourcesFooter(e.result.sources, citedIds(e.result)) : "";
          if (footer) yield delta({ content: footer });
          yield { ...delta({}, "stop"), citations: e.result.citations, sources: e.result.sources };
          if (e.result.usage) yield { ...base, choices: [], usage: e.result.usage };
        }
      }
    },
  };
}

/**
 * The same model as an HTTP handler: JSON for a whole answer, a server-sent-events Response for
 * `stream: true` (a request error is thrown before the stream starts).
 */
export function createRagChatHandler(service: RagService) {
  const model = ragChatModel(service);
  return async (body: OpenAiChatRequest): Promise<Record<string, unknown> | Response> => {
    if (!body.stream) return model.complete(body);
    parseChat(body);
    const chunks = model.chunks(body);
    const first = await chunks.next();
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (obj: unknown) => controller.enqueue(encoder.encode(`data: ${JSON.stringify(obj)}\n\n`));
        try {
          if (!first.done) send(first.value);
          for await (const c of chunks) send(c);
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
        } catch (err) {
          send({ error: { message: (err as Error).message, type: "server_error" } });
        }
        controller.close();
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  };
}
