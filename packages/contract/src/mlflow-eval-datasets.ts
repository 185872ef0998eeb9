import { z } from "zod";
import { mlflowRouteFactory } from "./mlflow-route";
import { int32, opt } from "./mlflow-tracking-schemas";

/**
 * MLflow 3's evaluation datasets (`mlflow.genai.datasets`): named sets of records (inputs,
 * expectations, tags) linked to experiments, under `/api/3.0/mlflow/datasets`
 * (mlflow/protos/service.proto, datasets.proto). Tags, inputs and expectations travel as JSON
 * strings, as the protos declare them.
 */
const P = "/api/3.0/mlflow/datasets";
const tags = ["MLflow evaluation datasets"] as const;
const str = z.string();
const strList = z.union([z.array(str), str.transform((s) => [s])]);

export const evalDatasetRequest = z.object({
  dataset_id: opt(str),
  name: opt(str),
  experiment_ids: opt(strList),
  source_type: opt(z.union([z.string(), z.number()])),
  source: opt(str),
  schema: opt(str),
  profile: opt(str),
  created_by: opt(str),
  tags: opt(str),
  key: opt(str),
  records: opt(str),
  updated_by: opt(str),
  filter_string: opt(str),
  max_results: opt(int32),
  order_by: opt(strList),
  page_token: opt(str),
});
export type EvalDatasetRequest = z.output<typeof evalDatasetRequest>;

export const evalDatasetSchema = z.object({
  dataset_id: z.string(),
  name: z.string(),
  tags: z.string().optional(),
  schema: z.string().optional(),
  profile: z.string().optional(),
  digest: z.string(),
  created_time: z.number(),
  last_update_time: z.number(),
  created_by: z.string().optional(),
  last_updated_by: z.string().optional(),
  experiment_ids: z.array(z.string()),
});
export type EvalDataset = z.infer<typeof evalDatasetSchema>;

const route = mlflowRouteFactory({ prefix: P, tags });

const one = z.object({ dataset: evalDatasetSchema });
export const evalDatasetRoutes = {
  createDataset: route(
    "evalDatasets.createDataset",
    "POST",
    "/create",
    "Create an evaluation dataset",
    evalDatasetRequest,
    one,
  ),
  searchDatasets: route(
    "evalDatasets.searchDatasets",
    "POST",
    "/search",
    "Search evaluation datasets",
    evalDatasetRequest,
    z.object({ datasets: z.array(evalDatasetSchema).optional(), next_page_token: z.string().optional() }),
  ),
  getDataset: route(
    "evalDatasets.getDataset",
    "GET",
    "/:dataset_id",
    "Get an evaluation dataset",
    evalDatasetRequest,
    one,
  ),
  deleteDataset: route(
    "evalDatasets.deleteDataset",
    "DELETE",
    "/:dataset_id",
    "Delete an evaluation dataset",
    evalDatasetRequest,
    z.object({}),
  ),
  setDatasetTags: route(
    "evalDatasets.setDatasetTags",
    "PATCH",
    "/:dataset_id/tags",
    "Merge tags into a dataset",
    evalDatasetRequest,
    one,
  ),
  deleteDatasetTag: route(
    "evalDatasets.deleteDatasetTag",
    "DELETE",
    "/:dataset_id/tags/:key",
    "Delete a tag of a dataset",
    evalDatasetRequest,
    z.object({}),
  ),
  upsertDatasetRecords: route(
    "evalDatasets.upsertDatasetRecords",
    "POST",
    "/:dataset_id/records",
    "Insert records, or update those with the same inputs",
    evalDatasetRequest,
    z.object({ inserted_count: z.number(), updated_count: z.number() }),
  ),
  getDatasetRecords: route(
    "evalDatasets.getDatasetRecords",
    "GET",
    "/:dataset_id/records",
    "A dataset's records (a JSON string)",
    evalDatasetRequest,
    z.object({ records: z.string(), next_page_token: z.string().optional() }),
  ),
  getDatasetExperimentIds: route(
    "evalDatasets.getDatasetExperimentIds",
    "GET",
    "/:dataset_id/experiment-ids",
    "The experiments a dataset is linked to",
    evalDatasetRequest,
    z.object({ experiment_ids: z.array(z.string()).optional() }),
  ),
};
