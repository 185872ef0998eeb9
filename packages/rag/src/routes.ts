import { mount, ragRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import type { AnswerEvent } from "./answerer";
import { keepCallerAuthorization as auth } from "./caller-auth";
import type { RagService } from "./service";

/** Server-sent events of a streamed answer: one `data:` JSON line per event, `[DONE]` last. */
function sse(events: AsyncGenerator<AnswerEvent>): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (obj: unknown) => controller.enqueue(encoder.encode(`data: ${JSON.stringify(obj)}\n\n`));
      try {
        for await (const e of events) send(e);
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
      } catch (err) {
        send({ type: "error", message: (err as Error).message });
      }
      controller.close();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

/** Thin HTTP layer over RagService. */
export function ragRoutes(app: Hono, service: RagService): void {
  mount(app, r.createKnowledgeBase, ({ body }) => service.create(body));
  mount(app, r.listKnowledgeBases, async () => ({ knowledgeBases: await service.list() }));
  mount(app, r.getKnowledgeBase, ({ params }) => service.get(params.kb));
  mount(app, r.updateKnowledgeBase, ({ params, body }) => service.update(params.kb, body));
  mount(app, r.deleteKnowledgeBase, async ({ params }) => {
    await service.delete(params.kb);
    return {};
  });
  mount(app, r.listDocuments, async ({ params, query }) => ({
    documents: await service.listDocuments(params.kb, query.prefix),
  }));
  mount(
    app,
    r.ingestDocuments,
    ({ params, body }) =>
      service.ingest(params.kb, body.documents, {
        prunePrefix: body.prunePrefix,
        present: body.present,
        skipIndexing: body.skipIndexing,
      }),
    auth,
  );
  mount(app, r.deleteDocuments, ({ params, body }) => service.deleteDocuments(params.kb, body.uris));
  mount(app, r.retrieve, ({ params, body }) => service.retrieve(params.kb, body), auth);
  mount(
    app,
    r.answer,
    async ({ params, body }) =>
      body.stream ? sse(await service.answerEvents(params.kb, body)) : service.answer(params.kb, body),
    auth,
  );
  mount(app, r.evaluate, ({ params, body }) => service.evaluate(params.kb, body), auth);
}
