import { z } from "zod";
import { runSchema } from "./mlflow-tracking-schemas";
import { defineRoute } from "./route";

/**
 * The MLflow UI's own endpoints (`mlflow/server/__init__.py` of MLflow 2.17): served under
 * `/ajax-api/2.0/mlflow/` (and `/get-artifact`, `/model-versions/get-artifact` at the root),
 * outside the protobuf service. Requests are loose on purpose: the handlers check them with
 * MLflow's own messages.
 */
const P = "/ajax-api/2.0/mlflow";
const tags = ["MLflow UI"] as const;
const ERRORS = ["INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST", "RESOURCE_DOES_NOT_EXIST"] as const;
const strOrList = z.union([z.string(), z.array(z.string())]);
const keyValue = z.object({ key: z.unknown().optional(), value: z.unknown().optional() }).loose();

export const getMetricHistoryBulkQuery = z.object({
  run_id: strOrList.optional(),
  metric_key: z.string().optional(),
  max_results: z.string().optional(),
});

export const uploadArtifactQuery = z.object({ run_uuid: z.string().optional(), path: z.string().optional() });

export const getArtifactQuery = z.object({
  run_id: z.string().optional(),
  run_uuid: z.string().optional(),
  path: z.string().optional(),
});

export const getModelVersionArtifactQuery = z.object({
  name: z.string().optional(),
  version: z.string().optional(),
  path: z.string().optional(),
});

export const searchDatasetsRequest = z.object({ experiment_ids: z.array(z.string()).optional() });

export const datasetSummarySchema = z.object({
  experiment_id: z.string(),
  name: z.string(),
  digest: z.string(),
  context: z.string().optional(),
});

/** `create-promptlab-run`'s body (MLflow reads it as plain JSON, not a proto message). */
export const createPromptlabRunRequest = z
  .object({
    experiment_id: z.string().optional(),
    run_name: z.string().optional(),
    tags: z.array(keyValue).optional(),
    prompt_template: z.string().optional(),
    prompt_parameters: z.array(keyValue).optional(),
    model_route: z.string().optional(),
    model_parameters: z.array(keyValue).optional(),
    model_input: z.string().optional(),
    model_output: z.string().optional(),
    model_output_parameters: z.array(keyValue).optional(),
    mlflow_version: z.string().optional(),
    user_id: z.string().optional(),
    start_time: z.union([z.number(), z.string()]).optional(),
  })
  .loose();

export const mlflowAjaxRoutes = {
  getMetricHistoryBulk: defineRoute({
    id: "mlflowUi.getMetricHistoryBulk",
    method: "GET",
    path: `${P}/metrics/get-history-bulk`,
    summary: "Full metric history of several runs (run_id repeated)",
    tags,
    query: getMetricHistoryBulkQuery,
    response: z.object({
      metrics: z.array(
        z.object({
          key: z.string(),
          value: z.unknown(),
          timestamp: z.number(),
          step: z.number(),
          run_id: z.string(),
        }),
      ),
    }),
    errors: ERRORS,
  }),
  searchDatasets: defineRoute({
    id: "mlflowUi.searchDatasets",
    method: "POST",
    path: `${P}/experiments/search-datasets`,
    summary: "Datasets logged to runs of the given experiments",
    tags,
    mlflow: true,
    body: searchDatasetsRequest,
    response: z.object({ dataset_summaries: z.array(datasetSummarySchema).optional() }),
    errors: ERRORS,
  }),
  createPromptlabRun: defineRoute({
    id: "mlflowUi.createPromptlabRun",
    method: "POST",
    path: `${P}/runs/create-promptlab-run`,
    summary: "Record a prompt-engineering evaluation as a finished run",
    tags,
    mlflow: true,
    body: createPromptlabRunRequest,
    response: z.object({ run: runSchema }),
    errors: ERRORS,
  }),
  uploadArtifact: defineRoute({
    id: "mlflowUi.uploadArtifact",
    method: "POST",
    path: `${P}/upload-artifact`,
    summary: "Upload a small artifact (at most 10 MB) to a run",
    tags,
    query: uploadArtifactQuery,
    body: z.string(),
    rawBody: true,
    requestType: "application/octet-stream",
    response: z.object({}),
    errors: ERRORS,
  }),
  getArtifact: defineRoute({
    id: "mlflowUi.getArtifact",
    method: "GET",
    path: "/get-artifact",
    summary: "Download a run's artifact (always as an attachment)",
    tags,
    query: getArtifactQuery,
    response: z.string(),
    responseType: "application/octet-stream",
    errors: ERRORS,
  }),
  getModelVersionArtifact: defineRoute({
    id: "mlflowUi.getModelVersionArtifact",
    method: "GET",
    path: "/model-versions/get-artifact",
    summary: "Download a file of a registered model version (always as an attachment)",
    tags,
    query: getModelVersionArtifactQuery,
    response: z.string(),
    responseType: "application/octet-stream",
    errors: ERRORS,
  }),
};

export type CreatePromptlabRunRequest = z.output<typeof createPromptlabRunRequest>;
