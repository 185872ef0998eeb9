import { mount, trackingRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import type { TrackingService } from "./service";

/**
 * The MLflow tracking REST endpoints, mounted from the API contract (which validates each
 * request with its schema at the edge). Handlers only call the service.
 */
export function mountTrackingRoutes(app: Hono, s: TrackingService): void {
  const runId = (b: { run_id?: string; run_uuid?: string }) => (b.run_id || b.run_uuid) as string;
  mount(app, r.getExperiment, ({ body }) => s.getExperiment(body.experiment_id));
  mount(app, r.getExperimentByName, ({ body }) => s.getExperimentByName(body.experiment_name));
  mount(app, r.searchExperiments, ({ body }) => s.searchExperiments(body));
  mount(app, r.getRun, ({ body }) => s.getRun(runId(body)));
  mount(app, r.searchRuns, ({ body }) => s.searchRuns(body));
  mount(app, r.getMetricHistory, ({ body }) => s.getMetricHistory(body));
  mount(app, r.getMetricHistoryBulkInterval, ({ body }) => s.getMetricHistoryBulkInterval(body));
  mount(app, r.listArtifacts, ({ body }) => s.listArtifacts(body));
  mount(app, r.createExperiment, ({ body }) => s.createExperiment(body));
  mount(app, r.updateExperiment, ({ body }) => s.updateExperiment(body));
  mount(app, r.deleteExperiment, ({ body }) => s.deleteExperiment(body.experiment_id));
  mount(app, r.restoreExperiment, ({ body }) => s.restoreExperiment(body.experiment_id));
  mount(app, r.setExperimentTag, ({ body }) => s.setExperimentTag(body));
  mount(app, r.deleteExperimentTag, ({ body }) => s.deleteExperimentTag(body));
  mount(app, r.createRun, ({ body }) => s.createRun(body));
  mount(app, r.updateRun, ({ body }) => s.updateRun(body));
  mount(app, r.deleteRun, ({ body }) => s.deleteRun(runId(body)));
  mount(app, r.restoreRun, ({ body }) => s.restoreRun(runId(body)));
  mount(app, r.logMetric, ({ body }) => s.logMetric(body));
  mount(app, r.logParam, ({ body }) => s.logParam(body));
  mount(app, r.setTag, ({ body }) => s.setTag(body));
  mount(app, r.deleteTag, ({ body }) => s.deleteTag(body));
  mount(app, r.logBatch, ({ body }) => s.logBatch(body));
  mount(app, r.logInputs, ({ body }) => s.logInputs(body));
  mount(app, r.logModel, ({ body }) => s.logModel(body));
}
