import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { createPlatform, type Platform } from "@keel/app";
import { type KeelConfig, loadConfig } from "@keel/core";
import {
  DynamoDbMetadataStore,
  type MetadataStore,
  openLocalMetadataStore,
  startDynalite,
} from "@keel/metadata";

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
 * The embedded platform: the metadata store in SQLite on the data dir (`metadata.sqlite`;
 * a data dir from an older Keel is migrated from dynalite on first start), dynalite on disk for
 * the DynamoDB online feature store, filesystem artifacts, the same Hono app the Lambda serves,
 * on one port. Without a data dir the metadata lives in an in-memory dynalite (tests).
 * `KEEL_LOCAL_METADATA=dynalite` keeps the metadata in dynalite on the data dir as before
 * (benchmarks that compare the two). Closing stops modules, the HTTP server and then the
 * stores, in that order, so no accepted write is lost.
 */
export async function startLocalPlatform(opts: LocalOptions = {}): Promise<LocalPlatform> {
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const table = opts.config?.table ?? "keel";
  const sqlite =
    dataDir && process.env.KEEL_LOCAL_METADATA !== "dynalite"
      ? await openLocalMetadataStore(dataDir, { table })
      : undefined;
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
    table,
    dynamodbEndpoint: dynalite.endpoint,
    artifactRoot: join(tmpRoot, "artifacts"),
    dataDir: tmpRoot,
    ...opts.config,
  });
  let store: MetadataStore;
  if (sqlite) store = sqlite;
  else {
    const dynamo = new DynamoDbMetadataStore({ table: config.table, endpoint: dynalite.endpoint });
    await dynamo.ensureTable();
    store = dynamo;
  }
  const platform = await createPlatform(config, { store, defaultPrincipal: opts.defaultPrincipal });
  await platform.start();

  const server = serve({
    fetch: platform.app.fetch,
    port: opts.port ?? 0,
    hostname: opts.host ?? "127.0.0.1",
  });
  await new Promise<void>((resolveListen, reject) => {
    if (server.listening) resolveListen();
    server.once("listening", () => resolveListen());
    server.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
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
      })();
      return closed;
    },
  };
}
