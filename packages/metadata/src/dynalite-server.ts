import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";

export interface DynaliteServer {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts dynalite (the DynamoDB wire protocol, in process) on a loopback port.
 * With `path` it persists to LevelDB files there; without, it keeps data in memory.
 */
export async function startDynalite(opts: { path?: string; port?: number } = {}): Promise<DynaliteServer> {
  if (opts.path) mkdirSync(opts.path, { recursive: true });
  const dynalite = await loadDynalite();
  const server = dynalite({ path: opts.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
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

type DynaliteFactory = (opts: Record<string, unknown>) => import("node:net").Server;

/**
 * dynalite (and its LevelDB binding) is a local-only dependency: it is loaded on first use,
 * through a specifier bundlers do not follow, so Lambda bundles of anything that imports
 * @keel/metadata neither contain nor require it.
 */
async function loadDynalite(): Promise<DynaliteFactory> {
  const specifier = "dynalite";
  const mod = (await import(specifier)) as { default: DynaliteFactory };
  return mod.default;
}
