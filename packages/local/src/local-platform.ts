import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { createPlatform, type Platform } from "@keel/app";
import { type KeelConfig, loadConfig } from "@keel/core";
import { DynamoDbMetadataStore, startDynalite } from "@keel/metadata";
import { lockDataDir } from "./data-dir-lock";

export interface LocalOptions {
  port?: number;
  host?: string;
  /** Where everything persists; omit for an in-memory metadata store (tests). */
  dataDir?: string;
  /** Extra config (e.g. a CQL contact point). */
  config?: Partial<KeelConfig>;
  defaultPrincipal?: string;
}

export interface LocalPlatform {
  url: string;
  port: number;
  platform: Platform;
  dataDir?: string;
  close(): Promise<void>;
}

/**
 * The embedded platform: dynalite on disk under the data dir, filesystem artifacts, the
 * same Hono app the Lambda serves, on one port. Closing stops modules, the HTTP server and
 * then dynalite, in that order, so no accepted write is lost.
 */
export async function startLocalPlatform(opts: LocalOptions = {}): Promise<LocalPlatform> {
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const lock = dataDir ? lockDataDir(dataDir) : undefined;
  try {
    return await start(opts, dataDir, lock);
  } catch (e) {
    lock?.release();
    throw e;
  }
}

async function start(
  opts: LocalOptions,
  dataDir: string | undefined,
  lock: ReturnType<typeof lockDataDir> | undefined,
): Promise<LocalPlatform> {
  const dynalite = await startDynalite({
    path: dataDir ? join(dataDir, "dynamodb") : undefined,
    thread: true,
  });
  const tmpRoot =
    dataDir ??
    join(
      process.env.TMPDIR ?? "/tmp",
      `keel-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    );
  const config = loadConfig(process.env, {
    stage: "local",
    table: "keel",
    dynamodbEndpoint: dynalite.endpoint,
    artifactRoot: join(tmpRoot, "artifacts"),
    dataDir: tmpRoot,
    ...opts.config,
  });
  const store = new DynamoDbMetadataStore({ table: config.table, endpoint: dynalite.endpoint });
  await store.ensureTable();
  const platform = await createPlatform(config, { store, defaultPrincipal: opts.defaultPrincipal });
  await platform.start();

  const server = serve({
    fetch: platform.app.fetch,
    port: opts.port ?? 0,
    hostname: opts.host ?? "127.0.0.1",
  });
  try {
    await new Promise<void>((resolveListen, reject) => {
      if (server.listening) resolveListen();
      server.once("listening", () => resolveListen());
      server.once("error", reject);
    });
  } catch (e) {
    // A taken port: stop what started, or the process never exits.
    await platform.stop();
    await store.close();
    await dynalite.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  lock?.setUrl(`http://localhost:${port}`);
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    platform,
    dataDir,
    close: () => {
      closed ??= (async () => {
        await new Promise<void>((r) => server.close(() => r()));
        await platform.stop();
        await store.close();
        await dynalite.close();
        lock?.release();
      })();
      return closed;
    },
  };
}
