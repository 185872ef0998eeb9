import type { AuditLog } from "@keel/audit";
import type { Clock, KeelConfig, Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Hono } from "hono";
import { apiPathRoots } from "./api-paths";
import { featuresRoutes } from "./features-routes";
import { FeaturesService } from "./features-service";
import type { OfflineStore } from "./offline/port";
import type { OnlineStore } from "./online/port";
import { createOfflineStore, createOnlineStore } from "./stores-factory";

/** What the module needs from the platform (a subset of PlatformDeps; no import of @keel/app). */
export interface FeaturesDeps {
  config: Pick<KeelConfig, "core" | "features" | "offline">;
  store: MetadataStore;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
}

export interface FeaturesModule {
  name: "features";
  routes(app: Hono): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  service: FeaturesService;
  online: OnlineStore;
  offline: OfflineStore;
}

/**
 * The feature store as a platform module. Stores come from the config through the factories
 * unless given (tests, benchmarks). `start` prepares the online schema where Keel owns it.
 */
export function createFeaturesModule(
  deps: FeaturesDeps,
  opts: { online?: OnlineStore; offline?: OfflineStore } = {},
): FeaturesModule {
  const online = opts.online ?? createOnlineStore(deps.config);
  const offline = opts.offline ?? createOfflineStore(deps.config);
  const service = new FeaturesService({
    store: deps.store,
    audit: deps.audit,
    clock: deps.clock,
    online,
    offline,
    paths: apiPathRoots(deps.config),
  });
  return {
    name: "features",
    service,
    online,
    offline,
    routes: (app) => featuresRoutes(app, service),
    start: () => online.ensureSchema(),
    async stop() {
      await online.close();
      await offline.close();
    },
  };
}
