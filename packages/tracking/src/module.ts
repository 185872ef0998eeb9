import type { Hono } from "hono";
import { mountTrackingRoutes } from "./routes";
import { TrackingService } from "./service";
import type { TrackingDeps } from "./tracking-context";

export interface TrackingModule {
  name: "tracking";
  routes(app: Hono): void;
  service: TrackingService;
}

/** The tracking module as the platform composes it (shaped like @keel/app's KeelModule). */
export function createTrackingModule(deps: TrackingDeps): TrackingModule {
  const service = new TrackingService(deps);
  return { name: "tracking", routes: (app) => mountTrackingRoutes(app, service), service };
}
