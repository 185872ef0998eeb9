import { mount, llmRoutes as r } from "@keel/contract";
import { isKeelError } from "@keel/core";
import type { Context, Hono } from "hono";
import { identifyCallerNow } from "./caller";
import { runAsCaller } from "./caller-context";
import { LlmError } from "./errors";
import type { Gateway } from "./gateway";
import type { KeyStore } from "./keys";
import type { RouteStore } from "./route-store";
import type { LlmRouter } from "./router";

/** An error as OpenAI's `{"error": {...}}` with its status and headers (Retry-After, x-ratelimit-*). */
export function openaiError(e: unknown): Response {
  const err =
    e instanceof LlmError
      ? e
      : isKeelError(e)
        ? new LlmError("invalid", e.message, e.code.toLowerCase(), null, {}, statusOfKeel(e.code))
        : new LlmError(
            "upstream",
            "The gateway failed to handle the request.",
            "internal_error",
            null,
            {},
            500,
          );
  return new Response(JSON.stringify(err.body()), {
    status: err.status,
    headers: { "content-type": "application/json", ...err.headers },
  });
}

function statusOfKeel(code: string): number {
  return code === "PAYLOAD_TOO_LARGE" ? 413 : code === "UNSUPPORTED_MEDIA_TYPE" ? 415 : 400;
}

async function body(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new LlmError("invalid", "We could not parse the JSON body of your request.", "invalid_json");
  }
}

/** OpenAI's API under /llm/v1: chat completions (streaming too), embeddings, models. */
export function mountOpenAIRoutes(
  app: Hono,
  d: { gateway: Gateway; keys: KeyStore; routes: RouteStore; router: LlmRouter },
): void {
  const guarded = (fn: (c: Context) => Promise<Response>) => async (_: unknown, c: Context) => {
    try {
      return await fn(c);
    } catch (e) {
      return openaiError(e);
    }
  };
  const caller = (c: Context) => identifyCallerNow(c.req.header("authorization"), d.keys);
  mount(
    app,
    r.chatCompletions,
    guarded(async (c) => {
      const receivedAt = performance.now();
      const identified = caller(c);
      const who = identified instanceof Promise ? await identified : identified;
      const request = await body(c);
      // The caller going away aborts the upstream call too (the request's signal). A virtual
      // model's provider (e.g. `rag:`) acts as the caller: only those requests need the caller's
      // async context (one less AsyncLocalStorage store to carry through every other request's promises).
      const model = (request as { model?: unknown } | null)?.model;
      if (d.router.isVirtual(model))
        return runAsCaller(who, () => d.gateway.chat(who, request, c.req.raw.signal, receivedAt));
      return d.gateway.chat(who, request, c.req.raw.signal, receivedAt);
    }),
  );
  mount(
    app,
    r.embeddings,
    guarded(async (c) => {
      const receivedAt = performance.now();
      return d.gateway.embeddings(await caller(c), await body(c), c.req.raw.signal, receivedAt);
    }),
  );
  mount(
    app,
    r.models,
    guarded(async (c) => {
      const who = await caller(c);
      const names = [...(await d.routes.list()).map((x) => x.model), ...(await d.router.virtualModels())];
      const allowed = who.key?.models;
      const data = names
        .filter((m) => !allowed || allowed.some((a) => a === m || (a.endsWith(":") && m.startsWith(a))))
        .map((id) => ({ id, object: "model" as const, created: 0, owned_by: "keel" }));
      return c.json({ object: "list", data });
    }),
  );
}
