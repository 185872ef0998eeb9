import type { Level, ResourceType } from "./resource-permissions";

/**
 * Where a route names the experiment or registered model it acts on, and the level it needs
 * there (MLflow's auth plugin: reads READ, updates EDIT, deletes MANAGE). `field` is read from
 * the route's path parameters, else from the request as the handler reads it (the query string
 * on GET, the JSON body over the query string otherwise); a run, trace or logged model resolves
 * to its experiment, and a field naming several (`experiment_ids`, `trace_ids`) needs the level on
 * each. Enforced only with `keel dev --auth`; admins bypass.
 */
export interface ResourceScope {
  type: ResourceType;
  /** `artifact_path`: the experiment id that starts an artifact path (`<experiment>/<run>/artifacts/...`). */
  field: ScopeField;
  level: Level;
}

export type ScopeField =
  | "experiment_id"
  | "experiment_name"
  | "run_id"
  | "name"
  | "artifact_path"
  /** A trace (`request_id` in 2.x, `trace_id` in 3.x). */
  | "trace_id"
  /** An MLflow 3 logged model. */
  | "model_id"
  /** Experiment ids listed by searches (`experiment_ids`, or 3.x `locations[].mlflow_experiment`). */
  | "experiment_ids"
  /** Traces listed by id (`trace_ids`). */
  | "trace_ids"
  /** Logged models a run's call writes to or links (`model_id`, `metrics[]` / `models[].model_id`). */
  | "model_ids";

const exp = (level: Level): ResourceScope => ({ type: "experiment", field: "experiment_id", level });
const run = (level: Level): ResourceScope => ({ type: "experiment", field: "run_id", level });
const artifacts = (level: Level): ResourceScope => ({ type: "experiment", field: "artifact_path", level });
const model = (level: Level): ResourceScope => ({ type: "registered_model", field: "name", level });
const trace = (level: Level): ResourceScope => ({ type: "experiment", field: "trace_id", level });
const traces = (level: Level): ResourceScope => ({ type: "experiment", field: "trace_ids", level });
const loggedModel = (level: Level): ResourceScope => ({ type: "experiment", field: "model_id", level });
const models = (level: Level): ResourceScope => ({ type: "experiment", field: "model_ids", level });
const exps = (level: Level): ResourceScope => ({ type: "experiment", field: "experiment_ids", level });

const T = "/api/2.0/mlflow";
const T3 = "/api/3.0/mlflow";
/** A route's scopes: one, or several that must all hold. */
export const RESOURCE_SCOPES: Readonly<Record<string, ResourceScope | readonly ResourceScope[]>> = {
  [`GET ${T}/experiments/get`]: exp("READ"),
  [`POST ${T}/experiments/get`]: exp("READ"),
  [`GET ${T}/experiments/get-by-name`]: { type: "experiment", field: "experiment_name", level: "READ" },
  [`POST ${T}/experiments/get-by-name`]: { type: "experiment", field: "experiment_name", level: "READ" },
  [`POST ${T}/experiments/update`]: exp("EDIT"),
  [`POST ${T}/experiments/set-experiment-tag`]: exp("EDIT"),
  [`POST ${T}/experiments/delete-experiment-tag`]: exp("EDIT"),
  [`POST ${T}/experiments/delete`]: exp("MANAGE"),
  [`POST ${T}/experiments/restore`]: exp("MANAGE"),
  [`POST ${T}/runs/create`]: exp("EDIT"),
  [`GET ${T}/runs/get`]: run("READ"),
  [`POST ${T}/runs/get`]: run("READ"),
  [`GET ${T}/metrics/get-history`]: run("READ"),
  [`POST ${T}/metrics/get-history`]: run("READ"),
  [`GET ${T}/artifacts/list`]: run("READ"),
  [`POST ${T}/artifacts/list`]: run("READ"),
  [`POST ${T}/runs/update`]: run("EDIT"),
  [`POST ${T}/runs/log-metric`]: [run("EDIT"), models("EDIT")],
  [`POST ${T}/runs/log-parameter`]: run("EDIT"),
  [`POST ${T}/runs/set-tag`]: run("EDIT"),
  [`POST ${T}/runs/delete-tag`]: run("EDIT"),
  [`POST ${T}/runs/log-batch`]: [run("EDIT"), models("EDIT")],
  [`POST ${T}/runs/log-inputs`]: [run("EDIT"), models("EDIT")],
  [`POST ${T}/runs/log-model`]: run("EDIT"),
  [`POST ${T}/runs/delete`]: run("MANAGE"),
  [`POST ${T}/runs/restore`]: run("MANAGE"),
  [`GET ${T}/registered-models/get`]: model("READ"),
  [`GET ${T}/registered-models/get-latest-versions`]: model("READ"),
  [`POST ${T}/registered-models/get-latest-versions`]: model("READ"),
  [`GET ${T}/registered-models/alias`]: model("READ"),
  [`GET ${T}/model-versions/get`]: model("READ"),
  [`GET ${T}/model-versions/get-download-uri`]: model("READ"),
  [`POST ${T}/registered-models/rename`]: model("EDIT"),
  [`PATCH ${T}/registered-models/update`]: model("EDIT"),
  [`POST ${T}/registered-models/set-tag`]: model("EDIT"),
  [`DELETE ${T}/registered-models/delete-tag`]: model("EDIT"),
  [`POST ${T}/registered-models/alias`]: model("EDIT"),
  [`DELETE ${T}/registered-models/alias`]: model("EDIT"),
  [`POST ${T}/model-versions/create`]: model("EDIT"),
  [`PATCH ${T}/model-versions/update`]: model("EDIT"),
  [`POST ${T}/model-versions/transition-stage`]: model("EDIT"),
  [`POST ${T}/model-versions/set-tag`]: model("EDIT"),
  [`DELETE ${T}/model-versions/delete-tag`]: model("EDIT"),
  [`DELETE ${T}/registered-models/delete`]: model("MANAGE"),
  [`DELETE ${T}/model-versions/delete`]: model("MANAGE"),
  "GET /api/v1/models/:name/policy": model("READ"),
  "PUT /api/v1/models/:name/policy": model("MANAGE"),
  "GET /api/v1/models/:name/promotions": model("READ"),
  "POST /api/v1/models/:name/versions/:version/promotions": model("EDIT"),
  "GET /api/v1/models/:name/versions/:version/lineage": model("READ"),
  "GET /api/v1/models/:name/versions/:version/card": model("READ"),
  "PUT /api/v1/models/:name/versions/:version/card": model("EDIT"),
  // MLflow UI endpoints (a run named by `run_id` or `run_uuid`).
  "GET /get-artifact": run("READ"),
  [`POST ${T}/upload-artifact`]: run("EDIT"),
  [`POST ${T}/runs/create-promptlab-run`]: exp("EDIT"),
  "GET /model-versions/get-artifact": model("READ"),
  "GET /api/2.0/mlflow-artifacts/artifacts/*": artifacts("READ"),
  "PUT /api/2.0/mlflow-artifacts/artifacts/*": artifacts("EDIT"),
  "POST /api/2.0/mlflow-artifacts/mpu/create/*": artifacts("EDIT"),
  "POST /api/2.0/mlflow-artifacts/mpu/complete/*": artifacts("EDIT"),
  "POST /api/2.0/mlflow-artifacts/mpu/abort/*": artifacts("EDIT"),
  "DELETE /api/2.0/mlflow-artifacts/artifacts/*": artifacts("MANAGE"),
  // MLflow Tracing, logged models and scorers: the experiment a request names, or the one its
  // trace or logged model belongs to (MLflow's auth plugin: reads READ, updates EDIT, deletes MANAGE).
  [`POST ${T}/traces`]: exp("EDIT"),
  [`PATCH ${T}/traces/:request_id`]: trace("EDIT"),
  [`GET ${T}/traces/:request_id/info`]: trace("READ"),
  [`GET ${T}/traces`]: exps("READ"),
  [`POST ${T}/traces/delete-traces`]: exp("MANAGE"),
  [`PATCH ${T}/traces/:request_id/tags`]: trace("EDIT"),
  [`DELETE ${T}/traces/:request_id/tags`]: trace("EDIT"),
  [`POST ${T}/traces/link-to-run`]: [run("EDIT"), traces("EDIT")],
  [`GET ${T}/get-trace-artifact`]: trace("READ"),
  [`POST ${T3}/traces`]: exp("EDIT"),
  [`GET ${T3}/traces/:trace_id`]: trace("READ"),
  [`POST ${T3}/traces/search`]: exps("READ"),
  [`POST ${T3}/traces/delete-traces`]: exp("MANAGE"),
  [`PATCH ${T3}/traces/:trace_id/tags`]: trace("EDIT"),
  [`DELETE ${T3}/traces/:trace_id/tags`]: trace("EDIT"),
  [`POST ${T3}/traces/calculate-filter-correlation`]: exps("READ"),
  [`POST ${T3}/traces/:trace_id/assessments`]: trace("EDIT"),
  [`GET ${T3}/traces/:trace_id/assessments/:assessment_id`]: trace("READ"),
  [`PATCH ${T3}/traces/:trace_id/assessments/:assessment_id`]: trace("EDIT"),
  [`DELETE ${T3}/traces/:trace_id/assessments/:assessment_id`]: trace("EDIT"),
  [`POST ${T}/logged-models`]: exp("EDIT"),
  [`POST ${T}/logged-models/search`]: exps("READ"),
  [`GET ${T}/logged-models/:model_id`]: loggedModel("READ"),
  [`PATCH ${T}/logged-models/:model_id`]: loggedModel("EDIT"),
  [`DELETE ${T}/logged-models/:model_id`]: loggedModel("MANAGE"),
  [`PATCH ${T}/logged-models/:model_id/tags`]: loggedModel("EDIT"),
  // MLflow 3.5.1 asks for delete (MANAGE) to delete a logged model's tag.
  [`DELETE ${T}/logged-models/:model_id/tags/:tag_key`]: loggedModel("MANAGE"),
  [`POST ${T}/logged-models/:model_id/params`]: loggedModel("EDIT"),
  [`GET ${T}/logged-models/:model_id/artifacts/directories`]: loggedModel("READ"),
  [`GET ${T}/logged-models/:model_id/artifacts/files`]: loggedModel("READ"),
  [`POST ${T}/runs/outputs`]: [run("EDIT"), models("EDIT")],
  [`POST ${T3}/scorers/register`]: exp("EDIT"),
  [`GET ${T3}/scorers/list`]: exp("READ"),
  [`GET ${T3}/scorers/versions`]: exp("READ"),
  [`GET ${T3}/scorers/get`]: exp("READ"),
  [`DELETE ${T3}/scorers/delete`]: exp("EDIT"),
  // Managing permissions on a resource needs MANAGE on it.
  [`POST ${T}/experiments/permissions/create`]: exp("MANAGE"),
  [`GET ${T}/experiments/permissions/get`]: exp("MANAGE"),
  [`PATCH ${T}/experiments/permissions/update`]: exp("MANAGE"),
  [`DELETE ${T}/experiments/permissions/delete`]: exp("MANAGE"),
  [`POST ${T}/registered-models/permissions/create`]: model("MANAGE"),
  [`GET ${T}/registered-models/permissions/get`]: model("MANAGE"),
  [`PATCH ${T}/registered-models/permissions/update`]: model("MANAGE"),
  [`DELETE ${T}/registered-models/permissions/delete`]: model("MANAGE"),
};

/** Routes whose caller becomes the new resource's owner (MANAGE), read from the response. */
export const OWNER_ON_CREATE: Readonly<Record<string, { type: ResourceType; id: (body: never) => unknown }>> =
  {
    [`POST ${T}/experiments/create`]: {
      type: "experiment",
      id: (b: { experiment_id?: string }) => b.experiment_id,
    },
    [`POST ${T}/registered-models/create`]: {
      type: "registered_model",
      id: (b: { registered_model?: { name?: string } }) => b.registered_model?.name,
    },
  };

/** Search answers filtered to what the caller may READ (a NO_PERMISSIONS grant hides a resource). */
export const SEARCH_FILTERS: Readonly<Record<string, { type: ResourceType; list: string; id: string }>> = {
  [`GET ${T}/experiments/search`]: { type: "experiment", list: "experiments", id: "experiment_id" },
  [`POST ${T}/experiments/search`]: { type: "experiment", list: "experiments", id: "experiment_id" },
  [`GET ${T}/registered-models/search`]: { type: "registered_model", list: "registered_models", id: "name" },
};
