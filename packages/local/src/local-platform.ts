import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import {
  createPlatform,
  FrontAdmission,
  frontAdmissionConfig,
  type KeelProject,
  loadProject,
  type Platform,
} from "@keel/app";
import { type ConfigOverrides, internalCallToken, loadConfig, mergeConfigOverrides } from "@keel/core";
import {
  DynamoDbMetadataStore,
  type MetadataStore,
  openLocalMetadataStore,
  startDynalite,
} from "@keel/metadata";
import { allowedHostHeaders } from "./allowed-hosts";
import { lockDataDir } from "./data-dir-lock";

export interface LocalOptions {
  port?: number;
  host?: string;
  /** Where everything persists; omit for an in-memory metadata store (tests). */
  dataDir?: string;
  /** Extra config per section (e.g. a CQL contact point). */
  config?: ConfigOverrides;
  /** A project folder whose pipelines are registered at start (default `pipelines.projectDir`, KEEL_PROJECT_DIR). */
  projectDir?: string;
  defaultPrincipal?: string;
  /** The project's pipeline files, registered in process at start (`keel dev --pipelines`). */
  pipelineFiles?: string[];
  /** Tuning definition files, loaded in process at start (`keel dev --tunings`). */
  tuningFiles?: string[];
  /** `users`: `keel dev --auth` (tokens from the users store); default: the laptop's single user. */
  auth?: "laptop" | "users";
}

export interface LocalPlatform {
  url: string;
  port: number;
  platform: Platform;
  dataDir?: string;
  /** The project loaded at start, if one was named. */
  project?: KeelProject;
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
  const table = opts.config?.core?.table ?? "keel";
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
  const config = loadConfig(
    process.env,
    mergeConfigOverrides(
      {
        core: { stage: "local", table, dynamodbEndpoint: dynalite.endpoint, dataDir: tmpRoot },
        artifacts: { root: join(tmpRoot, "artifacts") },
      },
      opts.config ?? {},
    ),
  );
  const projectDir = opts.projectDir ?? config.pipelines.projectDir;
  const project = projectDir
    ? await loadProject(projectDir).catch(async (e) => {
        await sqlite?.close();
        await dynalite.close();
        throw e;
      })
    : undefined;
  let store: MetadataStore;
  if (sqlite) store = sqlite;
  else {
    const dynamo = new DynamoDbMetadataStore({ table: config.core.table, endpoint: dynalite.endpoint });
    await dynamo.ensureTable();
    store = dynamo;
  }
  const host = opts.host ?? "127.0.0.1";
  // Filled once the server listens (the port may be chosen then); nothing is served before.
  let hosts: ReadonlySet<string> = new Set();
  const platform = await createPlatform(config, {
    store,
    defaultPrincipal: opts.defaultPrincipal,
    allowedHosts: () => hosts,
    pipelines: project?.pipelines,
    tunings: project?.tunings,
    auth: opts.auth,
  });
  try {
    for (const file of opts.pipelineFiles ?? [])
      await platform.services.pipelines.registerFile(resolve(file));
    for (const file of opts.tuningFiles ?? []) await platform.services.tuning.registerFile(resolve(file));
    await platform.start();
  } catch (e) {
    await platform.stop().catch(() => undefined);
    await store.close();
    await dynalite.close();
    throw e;
  }

  // KEEL_ADMISSION=front: admission decided in node:http's listener, before Hono (admission-front.ts).
  const front =
    config.http.admission === "front"
      ? new FrontAdmission(frontAdmissionConfig(config.http, internalCallToken()))
      : undefined;
  const server = serve({
    fetch: platform.app.fetch,
    port: opts.port ?? 0,
    hostname: host,
    ...(front ? { createServer: front.createServer } : {}),
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
  hosts = allowedHostHeaders(host, port, config.http.allowedHosts);
  lock?.setUrl(`http://localhost:${port}`);
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    platform,
    dataDir,
    project,
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
