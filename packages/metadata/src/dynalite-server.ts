import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
// dynalite ships no types.
// @ts-expect-error no declaration file
import dynalite from "dynalite";

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
