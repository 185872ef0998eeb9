import type { ArtifactStore } from "@keel/artifacts";
import type { Clock, Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Hono } from "hono";
import type { ModelRegistrar } from "./controller";
import type { TuningDefinition } from "./definition";
import { tuningRoutes } from "./routes";
import { type TuningPipelinesApi, TuningService } from "./service";
import type { TuningTrackingApi } from "./tracking";

export interface TuningModuleDeps {
  store: MetadataStore;
  artifacts: ArtifactStore;
  clock: Clock;
  log: Logger;
}

export interface TuningModuleOptions {
  /** Trials and the tuning run become tracking runs (nested) when given. */
  tracking?: TuningTrackingApi;
  /** For tunings whose trials are pipeline runs. */
  pipelines?: TuningPipelinesApi;
  /** Registers the best trial's model when a definition asks for it. */
  registrar?: ModelRegistrar;
  tunings?: TuningDefinition[];
}

export interface TuningModule {
  name: "tuning";
  service: TuningService;
  routes(app: Hono): void;
  stop(): Promise<void>;
}

/** The tuning module: the service and its /api/v1/tuning routes. */
export function createTuningModule(deps: TuningModuleDeps, opts: TuningModuleOptions = {}): TuningModule {
  const service = new TuningService({ ...deps, ...opts });
  for (const t of opts.tunings ?? []) service.register(t);
  return {
    name: "tuning",
    service,
    routes: (app) => tuningRoutes(app, service),
    stop: () => service.close(),
  };
}
