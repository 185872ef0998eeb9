import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";

export interface DynaliteServer {
  endpoint: string;
  /** LevelDB iterators created and still open where dynalite runs (see level-iterators.mjs). */
  iteratorStats(): Promise<LevelIteratorStats>;
  close(): Promise<void>;
}

export interface LevelIteratorStats {
  created: number;
  open: number;
}

export interface DynaliteOptions {
  /** LevelDB directory; omitted = in memory. */
  path?: string;
  /** Loopback port; 0 or omitted = any free port. */
  port?: number;
  /**
   * Run dynalite on a worker thread. `keel dev` does: dynalite's request parsing then no longer
   * competes with the HTTP server for one event loop.
   */
  thread?: boolean;
}

/**
 * Starts dynalite (the DynamoDB wire protocol, in process) on a loopback port.
 * With `path` it persists to LevelDB files there; without, it keeps data in memory.
 * `close()` stops accepting requests, then flushes and releases the data directory.
 */
export async function startDynalite(opts: DynaliteOptions = {}): Promise<DynaliteServer> {
  if (opts.path) mkdirSync(opts.path, { recursive: true });
  if (opts.thread) return startDynaliteThread(opts);
  const { dynalite, iteratorStats } = await loadDynalite();
  const server = dynalite({ path: opts.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    iteratorStats: async () => iteratorStats(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          // dynalite keeps its LevelDB handle on the server object; close it so the data dir is flushed and released.
          const db = (server as { db?: { close?: (cb: () => void) => void } }).db;
          if (db?.close) db.close(() => resolve());
          else resolve();
        });
      }),
  };
}

async function startDynaliteThread(opts: DynaliteOptions): Promise<DynaliteServer> {
  const worker = new Worker(new URL("./dynalite-thread.mjs", import.meta.url), {
    workerData: { path: opts.path, port: opts.port },
  });
  type Message = { type: string; port?: number; message?: string; iterators?: LevelIteratorStats };
  const next = (type: string) =>
    new Promise<Message>((resolve, reject) => {
      const onMessage = (m: Message) => {
        if (m.type === type) {
          cleanup();
          resolve(m);
        } else if (m.type === "error") {
          cleanup();
          reject(new Error(`dynalite failed to start: ${m.message}`));
        }
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`dynalite thread exited with code ${code}`));
      };
      const cleanup = () => {
        worker.off("message", onMessage);
        worker.off("exit", onExit);
        worker.off("error", reject);
      };
      worker.on("message", onMessage);
      worker.once("exit", onExit);
      worker.once("error", reject);
    });
  const { port } = await next("ready");
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    iteratorStats: async () => {
      const reply = next("stats");
      worker.postMessage({ type: "stats" });
      return (await reply).iterators as LevelIteratorStats;
    },
    close: () => {
      closing ??= (async () => {
        const closed = next("closed");
        worker.postMessage({ type: "close" });
        await closed;
        await worker.terminate();
      })();
      return closing;
    },
  };
}

type DynaliteFactory = (opts: Record<string, unknown>) => import("node:net").Server;

/**
 * dynalite (and its LevelDB binding) is a local-only dependency: it is loaded on first use,
 * through a specifier bundlers do not follow, so Lambda bundles of anything that imports
 * @keel/metadata neither contain nor require it.
 */
async function loadDynalite(): Promise<{
  dynalite: DynaliteFactory;
  iteratorStats: () => LevelIteratorStats;
}> {
  const specifier = "dynalite";
  const mod = (await import(specifier)) as { default: DynaliteFactory };
  const fix = (await import(new URL("./level-iterators.mjs", import.meta.url).href)) as {
    fixLevelIterators(): void;
    levelIteratorStats(): LevelIteratorStats;
  };
  fix.fixLevelIterators();
  return { dynalite: mod.default, iteratorStats: fix.levelIteratorStats };
}
