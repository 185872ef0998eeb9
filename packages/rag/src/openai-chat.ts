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

/**
 * An OpenAI chat-completions handler for the gateway: the model `rag:<kb>` answers the last user
 * message from knowledge base `<kb>` (retrieval as the caller, so document-level security holds),
 * in OpenAI's response shape (streamed as `chat.completion.chunk` events with `stream: true`).
 * The message content ends with the cited sources; the structured citations ride along in
 * `citations` (clients that do not know the field ignore it). Register it on the gateway for
 * models starting with `rag:`; it returns JSON for a whole answer, a Response for a stream.
 */
export function createRagChatHandler(service: RagService) {
  return async (body: OpenAiChatRequest): Promise<Record<string, unknown> | Response> => {
    if (!body.model?.startsWith(RAG_MODEL_PREFIX))
      throw new KeelError("INVALID_PARAMETER_VALUE", `model must be ${RAG_MODEL_PREFIX}<knowledge base>`);
    const kb = body.model.slice(RAG_MODEL_PREFIX.length);
    const question = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
    const q = question ? text(question.content).trim() : "";
    if (!q) throw new KeelError("INVALID_PARAMETER_VALUE", "messages must include a user message with text");
    const id = `chatcmpl-rag-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      const r = await service.answer(kb, { question: q });
      const content = r.answer + (r.answered ? sourcesFooter(r.sources, citedIds(r)) : "");
      return {
        id,
        object: "chat.completion",
        created,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: r.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
        citations: r.citations,
        sources: r.sources,
      };
    }

    const events = await service.answerEvents(kb, { question: q });
    const encoder = new TextEncoder();
    const base = { id, object: "chat.completion.chunk", created, model: body.model };
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (obj: unknown) => controller.enqueue(encoder.encode(`data: ${JSON.stringify(obj)}\n\n`));
        send({
          ...base,
          choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
        });
        try {
          for await (const e of events) {
            if (e.type === "delta")
              send({ ...base, choices: [{ index: 0, delta: { content: e.text }, finish_reason: null }] });
            if (e.type === "done") {
              const footer = e.result.answered ? sourcesFooter(e.result.sources, citedIds(e.result)) : "";
              if (footer)
                send({ ...base, choices: [{ index: 0, delta: { content: footer }, finish_reason: null }] });
              send({
                ...base,
                choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
                citations: e.result.citations,
                sources: e.result.sources,
              });
            }
          }
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
