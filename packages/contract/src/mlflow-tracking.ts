import { z } from "zod";
import { mlflowRouteFactory } from "./mlflow-route";
import * as s from "./mlflow-tracking-schemas";

/** MLflow tracking REST API (mlflow/protos/service.proto), also served under `/ajax-api`. */
const P = "/api/2.0/mlflow";
const tags = ["MLflow tracking"] as const;
const empty = z.object({});
const NOT_FOUND = ["INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST", "RESOURCE_DOES_NOT_EXIST"] as const;
const WRITE = [...NOT_FOUND, "INVALID_STATE"] as const;

const readRoute = mlflowRouteFactory({ prefix: `${P}/`, tags, errors: NOT_FOUND });
const writeRoute = mlflowRouteFactory({ prefix: `${P}/`, tags, errors: WRITE });
/** A read endpoint: GET with the request in the query string, or POST with it as JSON. */
const read = <const Id extends string, B extends z.ZodType, R extends z.ZodType>(
  id: Id,
  path: string,
  summary: string,
  body: B,
  response: R,
) => readRoute(id, "GET", path, summary, body, response, { acceptsPost: true });
const write = <const Id extends string, B extends z.ZodType, R extends z.ZodType>(
  id: Id,
  path: string,
  summary: string,
  body: B,
  response: R,
) => writeRoute(id, "POST", path, summary, body, response);

const page = { next_page_token: z.string().optional() };

export const trackingRoutes = {
  getExperiment: read(
    "tracking.getExperiment",
    "experiments/get",
    "Get an experiment by id",
    s.experimentIdRequest,
    z.object({ experiment: s.experimentSchema }),
  ),
  getExperimentByName: read(
    "tracking.getExperimentByName",
    "experiments/get-by-name",
    "Get an experiment by name",
    s.getByNameRequest,
    z.object({ experiment: s.experimentSchema }),
  ),
  searchExperiments: read(
    "tracking.searchExperiments",
    "experiments/search",
    "Search experiments with a filter",
    s.searchExperimentsRequest,
    z.object({ experiments: z.array(s.experimentSchema).optional(), ...page }),
  ),
  getRun: read("tracking.getRun", "runs/get", "Get a run", s.runIdRequest, z.object({ run: s.runSchema })),
  searchRuns: read(
    "tracking.searchRuns",
    "runs/search",
    "Search runs in experiments",
    s.searchRunsRequest,
    z.object({ runs: z.array(s.runSchema).optional(), ...page }),
  ),
  getMetricHistory: read(
    "tracking.getMetricHistory",
    "metrics/get-history",
    "Every logged value of a metric",
    s.getMetricHistoryRequest,
    z.object({ metrics: z.array(s.metricSchema).optional(), ...page }),
  ),
  getMetricHistoryBulkInterval: read(
    "tracking.getMetricHistoryBulkInterval",
    "metrics/get-history-bulk-interval",
    "Sampled metric history of several runs",
    s.getMetricHistoryBulkIntervalRequest,
    z.object({ metrics: z.array(s.metricSchema.extend({ run_id: z.string() })).optional() }),
  ),
  listArtifacts: read(
    "tracking.listArtifacts",
    "artifacts/list",
    "List a run's artifacts",
    s.listArtifactsRequest,
    z.object({
      root_uri: z.string().optional(),
      files: z
        .array(z.object({ path: z.string(), is_dir: z.boolean(), file_size: z.number().optional() }))
        .optional(),
      ...page,
    }),
  ),
  createExperiment: write(
    "tracking.createExperiment",
    "experiments/create",
    "Create an experiment",
    s.createExperimentRequest,
    z.object({ experiment_id: z.string() }),
  ),
  updateExperiment: write(
    "tracking.updateExperiment",
    "experiments/update",
    "Rename an experiment",
    s.updateExperimentRequest,
    empty,
  ),
  deleteExperiment: write(
    "tracking.deleteExperiment",
    "experiments/delete",
    "Mark an experiment deleted",
    s.experimentIdRequest,
    empty,
  ),
  restoreExperiment: write(
    "tracking.restoreExperiment",
    "experiments/restore",
    "Restore a deleted experiment",
    s.experimentIdRequest,
    empty,
  ),
  setExperimentTag: write(
    "tracking.setExperimentTag",
    "experiments/set-experiment-tag",
    "Set a tag on an experiment",
    s.setExperimentTagRequest,
    empty,
  ),
  deleteExperimentTag: write(
    "tracking.deleteExperimentTag",
    "experiments/delete-experiment-tag",
    "Delete an experiment tag",
    s.deleteExperimentTagRequest,
    empty,
  ),
  createRun: write(
    "tracking.createRun",
    "runs/create",
    "Start a run",
    s.createRunRequest,
    z.object({ run: s.runSchema }),
  ),
  updateRun: write(
    "tracking.updateRun",
    "runs/update",
    "Update a run's status, end time or name",
    s.updateRunRequest,
    z.object({ run_info: s.runInfoSchema }),
  ),
  deleteRun: write("tracking.deleteRun", "runs/delete", "Mark a run deleted", s.runIdRequest, empty),
  restoreRun: write("tracking.restoreRun", "runs/restore", "Restore a deleted run", s.runIdRequest, empty),
  logMetric: write("tracking.logMetric", "runs/log-metric", "Log a metric value", s.logMetricRequest, empty),
  logParam: write("tracking.logParam", "runs/log-parameter", "Log a parameter", s.logParamRequest, empty),
  setTag: write("tracking.setTag", "runs/set-tag", "Set a run tag", s.setTagRequest, empty),
  deleteTag: write("tracking.deleteTag", "runs/delete-tag", "Delete a run tag", s.deleteTagRequest, empty),
  logBatch: write(
    "tracking.logBatch",
    "runs/log-batch",
    "Log metrics, params and tags at once",
    s.logBatchRequest,
    empty,
  ),
  logInputs: write(
    "tracking.logInputs",
    "runs/log-inputs",
    "Log dataset inputs of a run",
    s.logInputsRequest,
    empty,
  ),
  logModel: write("tracking.logModel", "runs/log-model", "Record a logged model", s.logModelRequest, empty),
};
