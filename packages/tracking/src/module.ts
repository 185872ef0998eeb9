import type { Hono } from "hono";
import { mountTrackingRoutes } from "./routes";
import { type TrackingDeps, TrackingService } from "./service";

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
