import { StoreAuditLog } from "@keel/audit";
import { createLogger, installErrorHandling, loadConfig, type ServingConfig, systemClock } from "@keel/core";
import { createServingModule, type ServingModuleOptions } from "@keel/serving";
import { Hono } from "hono";
import { freshMetadataStore } from "../helpers/metadata";
import { listen } from "./fixtures";

/** The serving module alone on a real HTTP server, over dynalite and a temporary repository. */
export async function startServing(
  repository: string,
  { serving, ...opts }: ServingModuleOptions & { serving?: ServingConfig } = {},
) {
  const meta = await freshMetadataStore();
  const audit = new StoreAuditLog(meta.store, systemClock);
  const module = createServingModule(
    {
      config: { core: { dataDir: repository, stage: "local" }, serving: serving ?? loadConfig({}).serving },
      store: meta.store,
      artifacts: { getBytes: async () => Buffer.alloc(0) },
      audit,
      clock: systemClock,
      log: createLogger("error"),
    },
    {
      modelServer: { repository, intraOpNumThreads: 1 },
      tickMs: 60_000,
      ...opts,
    },
  );
  const app = new Hono();
  installErrorHandling(app);
  module.routes(app);
  await module.start();
  const http = await listen(app);
  const url = http.url;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected field by field
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as any };
  };
  return {
    url,
    call,
    module,
    audit,
    store: meta.store,
    close: async () => {
      await http.close();
      await module.stop();
      await meta.close();
    },
  };
}

/** Polls `fn` until it returns a truthy value (no timing assertions: only an upper bound). */
export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
