import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Who made a request and under which request id. The HTTP layer sets it once per request
 * (from the JWT subject, the IAM caller, or the local user); every write records it.
 */
export interface RequestContext {
  principal: string;
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function withContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext {
  return storage.getStore() ?? { principal: process.env.USER ?? "system", requestId: "internal" };
}

export function currentPrincipal(): string {
  return currentContext().principal;
}
