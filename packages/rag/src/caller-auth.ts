import { AsyncLocalStorage } from "node:async_hooks";
import type { MiddlewareHandler } from "hono";

const storage = new AsyncLocalStorage<string | undefined>();

/**
 * The caller's own `Authorization` header, kept for the request: when RAG calls the platform's
 * own gateway (no KEEL_RAG_LLM_URL), it calls as the caller, so the caller's keys, budgets and
 * guardrails apply to the embeddings and generations made for them.
 */
export function callerAuthorization(): string | undefined {
  return storage.getStore();
}

export function withCallerAuthorization<T>(authorization: string | undefined, fn: () => T): T {
  return storage.run(authorization, fn);
}

/** Route middleware that keeps the request's Authorization header for the handler. */
export const keepCallerAuthorization: MiddlewareHandler = (c, next) =>
  withCallerAuthorization(c.req.header("authorization"), next);
