import { createArtifactStore } from "@keel/artifacts";
import { StoreAuditLog } from "@keel/audit";
import { type Clock, createLogger, type KeelConfig, systemClock } from "@keel/core";
import { DynamoDbMetadataStore, type MetadataStore } from "@keel/metadata";
import type { Hono } from "hono";
import { createApp } from "./app";
import type { KeelModule, PlatformDeps } from "./module";

export interface Platform {
  deps: PlatformDeps;
  modules: KeelModule[];
  app: Hono;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  /** Overrides the metadata store (tests); otherwise DynamoDB at config.dynamodbEndpoint. */
  store?: MetadataStore;
  clock?: Clock;
  defaultPrincipal?: string;
}

/**
 * Builds every adapter from the config (the one place that chooses backends) and every
 * domain module on top of them, in dependency order.
 */
export async function createPlatform(config: KeelConfig, opts: PlatformOptions = {}): Promise<Platform> {
  const log = createLogger();
  const clock = opts.clock ?? systemClock;
  const store =
    opts.store ?? new DynamoDbMetadataStore({ table: config.table, endpoint: config.dynamodbEndpoint, region: config.region });
  const artifacts = createArtifactStore(config.artifactRoot);
  const audit = new StoreAuditLog(store, clock);
  const deps: PlatformDeps = { config, store, artifacts, audit, clock, log };

  const modules: KeelModule[] = [];

  const app = createApp(modules, { defaultPrincipal: opts.defaultPrincipal });
  return {
    deps,
    modules,
    app,
    async start() {
      for (const m of modules) await m.start?.();
    },
    async stop() {
      for (const m of [...modules].reverse()) await m.stop?.();
    },
  };
}
