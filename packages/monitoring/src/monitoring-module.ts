import type { Hono } from "hono";
import { type DriftOptions, type MonitoringDeps, MonitoringService } from "./drift-service";
import { monitoringRoutes } from "./monitoring-routes";
import { ParquetPredictionLog, type PredictionLogOptions, type PredictionSink } from "./prediction-log";

export interface MonitoringModuleOptions extends DriftOptions {
  predictionLog?: PredictionLogOptions;
}

export interface MonitoringModule {
  name: "monitoring";
  routes(app: Hono): void;
  stop(): Promise<void>;
  service: MonitoringService;
  /** Hand this to the serving router: every answered request is recorded here. */
  predictionSink: PredictionSink;
  predictionLog: ParquetPredictionLog;
}

/** The monitoring module: prediction log, drift job and its HTTP API (shaped like a KeelModule). */
export function createMonitoringModule(
  deps: MonitoringDeps,
  opts: MonitoringModuleOptions,
): MonitoringModule {
  const predictionLog = new ParquetPredictionLog(
    opts.predictionLog?.store ?? deps.artifacts,
    deps.log,
    opts.predictionLog,
  );
  const service = new MonitoringService(deps, predictionLog, opts);
  return {
    name: "monitoring",
    routes: (app) => monitoringRoutes(app, service),
    stop: () => predictionLog.stop(),
    service,
    predictionSink: predictionLog,
    predictionLog,
  };
}
