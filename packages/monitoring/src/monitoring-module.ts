import type { Hono } from "hono";
import { type DriftOptions, type MonitoringDeps, MonitoringService } from "./drift-service";
import { monitoringRoutes } from "./monitoring-routes";
import { ParquetPredictionLog, type PredictionLogOptions, type PredictionSink } from "./prediction-log";

export interface MonitoringModuleOptions extends DriftOptions {
  predictionLog?: PredictionLogOptions;
  /**
   * Per-deployment retention of the prediction log: partitions older than a deployment's
   * `retention_days` (else `defaultDays`) are deleted at start when `sweepOnStart` (local data dir).
   */
  retention?: {
    of(deployment: string): Promise<number | undefined>;
    defaultDays: number;
    sweepOnStart?: boolean;
  };
}

export interface MonitoringModule {
  name: "monitoring";
  routes(app: Hono): void;
  start(): Promise<void>;
  /** Deletes prediction-log partitions past each deployment's retention (at start locally; by the drift schedule in AWS). */
  sweep(): Promise<string[]>;
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
  const sweep = async (): Promise<string[]> => {
    const r = opts.retention;
    if (!r) return [];
    const deleted = await predictionLog.sweep(r.of, r.defaultDays).catch((e) => {
      deps.log.warn("prediction log retention sweep failed", { err: (e as Error).message });
      return [] as string[];
    });
    if (deleted.length > 0) deps.log.info("prediction log partitions past retention deleted", { deleted });
    return deleted;
  };
  return {
    name: "monitoring",
    routes: (app) => monitoringRoutes(app, service),
    async start() {
      if (opts.retention?.sweepOnStart) await sweep();
    },
    sweep,
    stop: () => predictionLog.stop(),
    service,
    predictionSink: predictionLog,
    predictionLog,
  };
}
