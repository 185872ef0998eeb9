import { AsyncLocalStorage } from "node:async_hooks";
import type { Caller } from "./caller";

const storage = new AsyncLocalStorage<Caller>();

/**
 * Runs a gateway request as its identified caller, so a virtual model's provider (e.g. a
 * knowledge base served as `rag:<kb>`) can act for the caller: a virtual key's team, not the
 * anonymous HTTP identity the key arrived with.
 */
export function runAsCaller<T>(caller: Caller, fn: () => T): T {
  return storage.run(caller, fn);
}

/** The gateway caller of the current request, if any. */
export function currentLlmCaller(): Caller | undefined {
  return storage.getStore();
}
