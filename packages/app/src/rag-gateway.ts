import { currentContext, httpStatusFor, KeelError, type RequestContext, withContext } from "@keel/core";
import {
  type ChatChunk,
  type ChatCompletion,
  type ChatRequest,
  currentLlmCaller,
  ProviderError,
  type VirtualModelProvider,
} from "@keel/llm";
import { type OpenAiChatRequest, RAG_MODEL_PREFIX, type RagService, ragChatModel } from "@keel/rag";

/** The gateway's request as the knowledge base's model reads it (the same OpenAI fields). */
const asRag = (r: ChatRequest) => r as unknown as OpenAiChatRequest;

/**
 * Knowledge bases as gateway models `rag:<kb>`: through the gateway's keys, limits, budgets,
 * guardrails and usage log. Retrieval runs as the gateway's caller: a virtual key acts for its
 * team (and holds no role), a platform user as themself; so a key only ever retrieves, and so
 * cites, the documents its team may read.
 */
/** A knowledge base's refusal (unknown base, bad request) as the gateway answers an upstream's 4xx. */
function asProviderError(e: unknown): unknown {
  if (!(e instanceof KeelError)) return e;
  const status = httpStatusFor(e.code);
  const code = e.code === "RESOURCE_DOES_NOT_EXIST" ? "model_not_found" : e.code.toLowerCase();
  return new ProviderError(status, e.message, undefined, {
    message: e.message,
    type: status >= 500 ? "server_error" : "invalid_request_error",
    param: status === 404 ? "model" : null,
    code,
  });
}

export function ragVirtualModels(rag: RagService): VirtualModelProvider {
  const model = ragChatModel(rag);
  /** The context retrieval runs in, fixed when the request starts (a stream resumes later). */
  const callerContext = (): RequestContext => {
    const ctx = currentContext();
    const caller = currentLlmCaller();
    if (!caller?.key) return ctx;
    return { ...ctx, principal: caller.principal, roles: [], kind: "service", teams: [caller.team] };
  };
  return {
    prefix: RAG_MODEL_PREFIX,
    provider: {
      kind: "rag",
      chat: (request: ChatRequest) => {
        const ctx = callerContext();
        return withContext(ctx, () => model.complete(asRag(request))).catch((e) => {
          throw asProviderError(e);
        }) as Promise<unknown> as Promise<ChatCompletion>;
      },
      async *chatStream(request: ChatRequest): AsyncIterable<ChatChunk> {
        const ctx = callerContext();
        const chunks = model.chunks(asRag(request));
        while (true) {
          const next = await withContext(ctx, () => chunks.next()).catch((e) => {
            throw asProviderError(e);
          });
          if (next.done) return;
          yield next.value as unknown as ChatChunk;
        }
      },
    },
    list: async () => (await rag.list()).map((kb) => `${RAG_MODEL_PREFIX}${kb.name}`),
  };
}
