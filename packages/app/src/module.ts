import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import type { Clock, KeelConfig, Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Hono } from "hono";

/** What every domain module is built from: the chosen adapters and shared services. */
export interface PlatformDeps {
  config: KeelConfig;
  store: MetadataStore;
  artifacts: ArtifactStore;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
}

/**
 * A domain module as the platform sees it: routes to mount on the shared Hono app and an
 * optional lifecycle (background schedulers, connections). Built by each package's
 * `create<Name>Module(deps, ...)`; composed in platform.ts.
 */
export interface KeelModule {
  name: string;
  /** Mounts the module's routes on the app (absolute paths: /api/2.0/..., /api/v1/..., /v2/...). */
  routes?(app: Hono): void;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
