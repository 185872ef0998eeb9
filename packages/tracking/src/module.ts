import type { Hono } from "hono";
import { mountEvalDatasetRoutes } from "./eval-datasets/routes";
import { mountLoggedModelRoutes } from "./logged-models/routes";
import { mountTrackingRoutes } from "./routes";
import { mountScorerRoutes } from "./scorers/routes";
import { TrackingService } from "./service";
import { mountTraceRoutes } from "./traces/routes";
import type { TrackingDeps } from "./tracking-context";

export interface TrackingModule {
  name: "tracking";
  routes(app: Hono): void;
  service: TrackingService;
}

/** The tracking module as the platform composes it (shaped like @keel/app's KeelModule). */
export function createTrackingModule(deps: TrackingDeps): TrackingModule {
  const service = new TrackingService(deps);
  const routes = (app: Hono) => {
    mountTrackingRoutes(app, service);
    mountTraceRoutes(app, service.traces);
    mountLoggedModelRoutes(app, service.loggedModels);
    mountScorerRoutes(app, service.scorers);
    mountEvalDatasetRoutes(app, service.evalDatasets);
  };
  return { name: "tracking", routes, service };
}
