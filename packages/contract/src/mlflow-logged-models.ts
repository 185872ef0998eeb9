import { z } from "zod";
import { MLFLOW_ERRORS as ERRORS, mlflowRouteFactory } from "./mlflow-route";
import { int32, int64, opt } from "./mlflow-tracking-schemas";
import { defineRoute } from "./route";

/**
 * MLflow 3's logged models (mlflow/protos/service.proto: CreateLoggedModel ... LogOutputs):
 * a model logged by `mlflow.<flavor>.log_model` is an entity of its experiment with its own
 * artifact root (`<experiment artifact location>/models/<model_id>/artifacts`), params, tags
 * and a status the client finalizes once the files are uploaded. Runs point at the models they
 * produced through `runs/outputs`.
 */
const P = "/api/2.0/mlflow";
const tags = ["MLflow logged models"] as const;
const ajax = ["/ajax-api"] as const;

const str = z.string();
const strList = z.union([z.array(str), str.transform((s) => [s])]);
const kvList = z.array(z.object({ key: opt(str), value: opt(str) }));

export const LOGGED_MODEL_STATUSES = [
  "LOGGED_MODEL_STATUS_UNSPECIFIED",
  "LOGGED_MODEL_PENDING",
  "LOGGED_MODEL_READY",
  "LOGGED_MODEL_UPLOAD_FAILED",
] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];
const loggedModelStatus = z.union([
  z.enum(LOGGED_MODEL_STATUSES),
  int32.pipe(z.number().min(0).max(3)).transform((n) => LOGGED_MODEL_STATUSES[n]),
]);

export const createLoggedModelRequest = z.object({
  experiment_id: opt(str),
  name: opt(str),
  model_type: opt(str),
  source_run_id: opt(str),
  params: opt(kvList),
  tags: opt(kvList),
});
export const modelIdRequest = z.object({ model_id: opt(str) });
export const finalizeLoggedModelRequest = z.object({ model_id: opt(str), status: opt(loggedModelStatus) });
export const searchLoggedModelsRequest = z.object({
  experiment_ids: opt(strList),
  filter: opt(str),
  datasets: opt(z.array(z.object({ dataset_name: opt(str), dataset_digest: opt(str) }))),
  max_results: opt(int32),
  order_by: opt(
    z.array(
      z.object({
        field_name: opt(str),
        ascending: opt(z.boolean()),
        dataset_name: opt(str),
        dataset_digest: opt(str),
      }),
    ),
  ),
  page_token: opt(str),
});
export const setLoggedModelTagsRequest = z.object({ model_id: opt(str), tags: opt(kvList) });
export const deleteLoggedModelTagRequest = z.object({ model_id: opt(str), tag_key: opt(str) });
export const logLoggedModelParamsRequest = z.object({ model_id: opt(str), params: opt(kvList) });
export const listLoggedModelArtifactsRequest = z.object({
  model_id: opt(str),
  artifact_directory_path: opt(str),
  page_token: opt(str),
});
export const getLoggedModelArtifactRequest = z.object({ model_id: opt(str), artifact_file_path: opt(str) });
export const logOutputsRequest = z.object({
  run_id: opt(str),
  models: opt(z.array(z.object({ model_id: opt(str), step: opt(int64) }))),
});

export type CreateLoggedModelRequest = z.output<typeof createLoggedModelRequest>;
export type SearchLoggedModelsRequest = z.output<typeof searchLoggedModelsRequest>;
export type LogOutputsRequest = z.output<typeof logOutputsRequest>;
export type KeyValueInput = z.output<typeof kvList>;

const kvOut = z.array(z.object({ key: z.string(), value: z.string() }));
export const loggedModelSchema = z.object({
  info: z.object({
    model_id: z.string(),
    experiment_id: z.string(),
    name: z.string(),
    creation_timestamp_ms: z.number(),
    last_updated_timestamp_ms: z.number(),
    artifact_uri: z.string(),
    status: z.enum(LOGGED_MODEL_STATUSES),
    model_type: z.string().optional(),
    source_run_id: z.string().optional(),
    status_message: z.string().optional(),
    tags: kvOut,
  }),
  data: z.object({
    params: kvOut,
    metrics: z.array(
      z.object({
        key: z.string(),
        value: z.number(),
        timestamp: z.number(),
        step: z.number(),
        run_id: z.string(),
        model_id: z.string(),
        dataset_name: z.string().optional(),
        dataset_digest: z.string().optional(),
      }),
    ),
  }),
});
export type LoggedModel = z.infer<typeof loggedModelSchema>;

const route = mlflowRouteFactory({ prefix: `${P}/`, tags });

const model = z.object({ model: loggedModelSchema });
const empty = z.object({});
const fileInfo = z.object({ path: z.string(), is_dir: z.boolean(), file_size: z.number().optional() });

export const loggedModelRoutes = {
  createLoggedModel: route(
    "loggedModels.createLoggedModel",
    "POST",
    "logged-models",
    "Create a logged model (status pending)",
    createLoggedModelRequest,
    model,
  ),
  searchLoggedModels: route(
    "loggedModels.searchLoggedModels",
    "POST",
    "logged-models/search",
    "Search logged models of experiments",
    searchLoggedModelsRequest,
    z.object({ models: z.array(loggedModelSchema).optional(), next_page_token: z.string().optional() }),
  ),
  getLoggedModel: route(
    "loggedModels.getLoggedModel",
    "GET",
    "logged-models/:model_id",
    "Get a logged model",
    modelIdRequest,
    model,
  ),
  finalizeLoggedModel: route(
    "loggedModels.finalizeLoggedModel",
    "PATCH",
    "logged-models/:model_id",
    "Mark a logged model ready (or failed)",
    finalizeLoggedModelRequest,
    model,
  ),
  deleteLoggedModel: route(
    "loggedModels.deleteLoggedModel",
    "DELETE",
    "logged-models/:model_id",
    "Delete a logged model",
    modelIdRequest,
    empty,
  ),
  setLoggedModelTags: route(
    "loggedModels.setLoggedModelTags",
    "PATCH",
    "logged-models/:model_id/tags",
    "Set tags on a logged model",
    setLoggedModelTagsRequest,
    model,
  ),
  deleteLoggedModelTag: route(
    "loggedModels.deleteLoggedModelTag",
    "DELETE",
    "logged-models/:model_id/tags/:tag_key",
    "Delete a tag of a logged model",
    deleteLoggedModelTagRequest,
    empty,
  ),
  logLoggedModelParams: route(
    "loggedModels.logLoggedModelParams",
    "POST",
    "logged-models/:model_id/params",
    "Log params of a logged model",
    logLoggedModelParamsRequest,
    empty,
  ),
  listLoggedModelArtifacts: route(
    "loggedModels.listLoggedModelArtifacts",
    "GET",
    "logged-models/:model_id/artifacts/directories",
    "List a logged model's artifacts",
    listLoggedModelArtifactsRequest,
    z.object({
      root_uri: z.string(),
      files: z.array(fileInfo).optional(),
      next_page_token: z.string().optional(),
    }),
  ),
  getLoggedModelArtifact: defineRoute({
    id: "loggedModels.getLoggedModelArtifact",
    method: "GET",
    mlflow: true,
    aliases: ajax,
    path: `${P}/logged-models/:model_id/artifacts/files`,
    summary: "Download one file of a logged model",
    tags,
    body: getLoggedModelArtifactRequest,
    responseType: "application/octet-stream",
    errors: ERRORS,
  }),
  logOutputs: route(
    "loggedModels.logOutputs",
    "POST",
    "runs/outputs",
    "Record the logged models a run produced",
    logOutputsRequest,
    empty,
  ),
};
