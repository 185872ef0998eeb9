import { jsonBody, queryObject } from "@keel/core";
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { TrackingService } from "./service";

/**
 * The MLflow tracking REST endpoints. Handlers only read the request (query string for GET,
 * JSON body for POST, as the MLflow client sends them) and call the service. Read endpoints
 * also accept POST with a JSON body, which some clients use.
 */
type Body = Record<string, unknown>;
type Handler = (svc: TrackingService, req: Body) => Promise<unknown>;

// The service validates every request with its own zod schema; these only hand the raw JSON over.
const raw = <T>(body: Body): T => body as T;
const str = (v: unknown) => v as string;

const READS: Record<string, Handler> = {
  "experiments/get": (s, r) => s.getExperiment(str(r.experiment_id)),
  "experiments/get-by-name": (s, r) => s.getExperimentByName(str(r.experiment_name)),
  "experiments/search": (s, r) => s.searchExperiments(raw(r)),
  "runs/get": (s, r) => s.getRun(str(r.run_id ?? r.run_uuid)),
  "runs/search": (s, r) => s.searchRuns(raw(r)),
  "metrics/get-history": (s, r) => s.getMetricHistory(raw(r)),
  "metrics/get-history-bulk-interval": (s, r) => s.getMetricHistoryBulkInterval(raw(r)),
  "artifacts/list": (s, r) => s.listArtifacts(raw(r)),
};

const WRITES: Record<string, Handler> = {
  "experiments/create": (s, r) => s.createExperiment(raw(r)),
  "experiments/update": (s, r) => s.updateExperiment(raw(r)),
  "experiments/delete": (s, r) => s.deleteExperiment(str(r.experiment_id)),
  "experiments/restore": (s, r) => s.restoreExperiment(str(r.experiment_id)),
  "experiments/set-experiment-tag": (s, r) => s.setExperimentTag(raw(r)),
  "experiments/delete-experiment-tag": (s, r) => s.deleteExperimentTag(raw(r)),
  "runs/create": (s, r) => s.createRun(raw(r)),
  "runs/update": (s, r) => s.updateRun(raw(r)),
  "runs/delete": (s, r) => s.deleteRun(str(r.run_id)),
  "runs/restore": (s, r) => s.restoreRun(str(r.run_id)),
  "runs/log-metric": (s, r) => s.logMetric(raw(r)),
  "runs/log-parameter": (s, r) => s.logParam(raw(r)),
  "runs/set-tag": (s, r) => s.setTag(raw(r)),
  "runs/delete-tag": (s, r) => s.deleteTag(raw(r)),
  "runs/log-batch": (s, r) => s.logBatch(raw(r)),
  "runs/log-inputs": (s, r) => s.logInputs(raw(r)),
  "runs/log-model": (s, r) => s.logModel(raw(r)),
};

const anyObject = z.record(z.string(), z.unknown());
const PREFIXES = ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"];

export function mountTrackingRoutes(app: Hono, svc: TrackingService): void {
  const fromQuery = (h: Handler) => async (c: Context) => c.json(await h(svc, queryObject(c)));
  const fromBody = (h: Handler) => async (c: Context) => c.json(await h(svc, await jsonBody(c, anyObject)));
  for (const prefix of PREFIXES) {
    for (const [path, h] of Object.entries(READS)) {
      app.get(`${prefix}/${path}`, fromQuery(h));
      app.post(`${prefix}/${path}`, fromBody(h));
    }
    for (const [path, h] of Object.entries(WRITES)) app.post(`${prefix}/${path}`, fromBody(h));
  }
}
