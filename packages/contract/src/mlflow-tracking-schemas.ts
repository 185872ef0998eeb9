import { z } from "zod";

/**
 * The MLflow 2.x tracking REST contract (mlflow/protos/service.proto) as zod schemas: request
 * bodies as the official client sends them and the entities the server returns. Protobuf JSON
 * rules apply: int64 may arrive as a number or a decimal string, doubles may be "NaN",
 * "Infinity" or "-Infinity", enums arrive by name (or number), and null means "not set".
 */

const unset = (v: unknown) => (v === null ? undefined : v);
/** An optional protobuf field: absent and null both mean "not set". */
export const opt = <S extends z.ZodType>(s: S) => z.preprocess(unset, s.optional());

/**
 * int64: a JSON number or a decimal string (protobuf JSON writes int64 as strings). Values are
 * kept as JavaScript numbers, exact only within ±(2^53 - 1); larger steps or timestamps are
 * refused rather than silently rounded.
 */
const INT64_MESSAGE = "must be an integer between -9007199254740991 and 9007199254740991";
export const int64 = z.union([
  z.number().int(INT64_MESSAGE),
  z
    .string()
    .regex(/^-?\d{1,19}$/, "must be an integer")
    .transform(Number)
    .pipe(z.number().int(INT64_MESSAGE)),
]);

/** int32 with the same string tolerance (GET query parameters are always strings). */
export const int32 = int64.pipe(z.number().int().min(-2147483648).max(2147483647));

const NON_FINITE: Record<string, number> = {
  NaN: Number.NaN,
  nan: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  inf: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
  "-inf": Number.NEGATIVE_INFINITY,
};

/** double: a JSON number, "NaN"/"Infinity"/"-Infinity", or a numeric string. */
export const double = z.union([
  z.number(),
  z.string().transform((s, ctx) => {
    if (s in NON_FINITE) return NON_FINITE[s];
    const n = s.trim() === "" ? Number.NaN : Number(s);
    if (Number.isNaN(n)) {
      ctx.addIssue({ code: "custom", message: `must be a number, got "${s}"` });
      return z.NEVER;
    }
    return n;
  }),
]);

const str = z.string();
const key = z.string();
const runIdField = { run_id: opt(str), run_uuid: opt(str) };

export const VIEW_TYPES = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"] as const;
export type ViewType = (typeof VIEW_TYPES)[number];
/** ViewType by name, or by its proto number 1..3 (as number or string). */
export const viewType = z.union([
  z.enum(VIEW_TYPES),
  int32.pipe(z.number().min(1).max(3)).transform((n) => VIEW_TYPES[n - 1]),
]);

export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const runStatus = z.union([
  z.enum(RUN_STATUSES),
  int32.pipe(z.number().min(1).max(5)).transform((n) => RUN_STATUSES[n - 1]),
]);

export const keyValueSchema = z.object({ key, value: opt(str) });

// ---- entities returned to clients -------------------------------------------------------------

export const experimentTagSchema = z.object({ key: z.string(), value: z.string() });
export const experimentSchema = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string(),
  lifecycle_stage: z.enum(["active", "deleted"]),
  last_update_time: z.number().optional(),
  creation_time: z.number().optional(),
  tags: z.array(experimentTagSchema).optional(),
});
export type Experiment = z.infer<typeof experimentSchema>;

/** A metric value as JSON carries it: non-finite doubles are strings, as protobuf JSON writes them. */
export const metricValueJson = z.union([z.number(), z.enum(["NaN", "Infinity", "-Infinity"])]);
export const metricSchema = z.object({
  key: z.string(),
  value: metricValueJson,
  timestamp: z.number(),
  step: z.number(),
});
export type Metric = z.infer<typeof metricSchema>;
export const paramSchema = z.object({ key: z.string(), value: z.string() });
export type Param = z.infer<typeof paramSchema>;
export const runTagSchema = z.object({ key: z.string(), value: z.string() });
export type RunTag = z.infer<typeof runTagSchema>;

export const runInfoSchema = z.object({
  run_id: z.string(),
  run_uuid: z.string(),
  run_name: z.string(),
  experiment_id: z.string(),
  user_id: z.string(),
  status: z.enum(RUN_STATUSES),
  start_time: z.number(),
  end_time: z.number().optional(),
  artifact_uri: z.string(),
  lifecycle_stage: z.enum(["active", "deleted"]),
});
export type RunInfo = z.infer<typeof runInfoSchema>;

export const datasetSchema = z.object({
  name: z.string().min(1, "dataset name is required"),
  digest: z.string().min(1, "dataset digest is required"),
  source_type: z.string().min(1, "dataset source_type is required"),
  source: z.string().min(1, "dataset source is required"),
  schema: opt(z.string()),
  profile: opt(z.string()),
});
export type Dataset = z.infer<typeof datasetSchema>;
export const inputTagSchema = z.object({ key: z.string().min(1), value: z.string() });
export const datasetInputSchema = z.object({
  tags: opt(z.array(inputTagSchema)),
  dataset: datasetSchema,
});
export type DatasetInput = z.infer<typeof datasetInputSchema>;

export const runSchema = z.object({
  info: runInfoSchema,
  data: z.object({
    metrics: z.array(metricSchema).optional(),
    params: z.array(paramSchema).optional(),
    tags: z.array(runTagSchema).optional(),
  }),
  inputs: z.object({
    dataset_inputs: z.array(datasetInputSchema).optional(),
    model_inputs: z.array(z.object({ model_id: z.string() })).optional(),
  }),
  outputs: z
    .object({ model_outputs: z.array(z.object({ model_id: z.string(), step: z.number() })) })
    .optional(),
});
export type Run = z.infer<typeof runSchema>;

// ---- requests ---------------------------------------------------------------------------------

export const createExperimentRequest = z.object({
  name: str,
  artifact_location: opt(str),
  tags: opt(z.array(keyValueSchema)),
});
export type CreateExperimentRequest = z.output<typeof createExperimentRequest>;

const experimentId = z.union([
  z.string().min(1, "Missing value for required parameter 'experiment_id'"),
  int64.transform(String),
]);
export const experimentIdRequest = z.object({ experiment_id: experimentId });
export const getByNameRequest = z.object({
  experiment_name: z.string().min(1, "Missing value for required parameter 'experiment_name'"),
});
export const updateExperimentRequest = experimentIdRequest.extend({ new_name: opt(str) });
export type UpdateExperimentRequest = z.output<typeof updateExperimentRequest>;
export const setExperimentTagRequest = experimentIdRequest.extend({ key, value: str });
export type SetExperimentTagRequest = z.output<typeof setExperimentTagRequest>;
export const deleteExperimentTagRequest = experimentIdRequest.extend({ key });
export type DeleteExperimentTagRequest = z.output<typeof deleteExperimentTagRequest>;

export const searchExperimentsRequest = z.object({
  max_results: opt(int64),
  page_token: opt(str),
  filter: opt(str),
  order_by: opt(z.union([z.array(str), str.transform((s) => [s])])),
  view_type: opt(viewType),
});
export type SearchExperimentsRequest = z.output<typeof searchExperimentsRequest>;

export const createRunRequest = z.object({
  experiment_id: opt(experimentId),
  user_id: opt(str),
  run_name: opt(str),
  start_time: opt(int64),
  tags: opt(z.array(keyValueSchema)),
});
export type CreateRunRequest = z.output<typeof createRunRequest>;

export const runIdRequest = z.object(runIdField);
export const updateRunRequest = z.object({
  ...runIdField,
  status: opt(runStatus),
  end_time: opt(int64),
  run_name: opt(str),
});
export type UpdateRunRequest = z.output<typeof updateRunRequest>;

export const logMetricRequest = z.object({
  ...runIdField,
  key,
  value: double,
  timestamp: int64,
  step: opt(int64),
  /** MLflow 3: the logged model (and dataset) the value was measured for. */
  model_id: opt(str),
  dataset_name: opt(str),
  dataset_digest: opt(str),
});
export type LogMetricRequest = z.output<typeof logMetricRequest>;

export const logParamRequest = z.object({ ...runIdField, key, value: str });
export type LogParamRequest = z.output<typeof logParamRequest>;

export const setTagRequest = z.object({ ...runIdField, key, value: str });
export type SetTagRequest = z.output<typeof setTagRequest>;
export const deleteTagRequest = z.object({ ...runIdField, key });
export type DeleteTagRequest = z.output<typeof deleteTagRequest>;

const batchMetric = z.object({ key, value: double, timestamp: int64, step: opt(int64) });
export const logBatchRequest = z.object({
  ...runIdField,
  metrics: opt(z.array(batchMetric)),
  params: opt(z.array(z.object({ key, value: str }))),
  tags: opt(z.array(z.object({ key, value: str }))),
});
export type LogBatchRequest = z.output<typeof logBatchRequest>;

export const logInputsRequest = z.object({
  ...runIdField,
  datasets: opt(z.array(datasetInputSchema)),
  /** MLflow 3: logged models the run used. */
  models: opt(z.array(z.object({ model_id: str }))),
});
export type LogInputsRequest = z.output<typeof logInputsRequest>;

export const logModelRequest = z.object({ ...runIdField, model_json: str });
export type LogModelRequest = z.output<typeof logModelRequest>;

export const searchRunsRequest = z.object({
  experiment_ids: opt(z.union([z.array(experimentId), str.transform((s) => [s])])),
  filter: opt(str),
  run_view_type: opt(viewType),
  max_results: opt(int64),
  order_by: opt(z.union([z.array(str), str.transform((s) => [s])])),
  page_token: opt(str),
});
export type SearchRunsRequest = z.output<typeof searchRunsRequest>;

export const getMetricHistoryRequest = z.object({
  ...runIdField,
  metric_key: key,
  page_token: opt(str),
  max_results: opt(int64),
});
export type GetMetricHistoryRequest = z.output<typeof getMetricHistoryRequest>;

export const getMetricHistoryBulkIntervalRequest = z.object({
  run_ids: z.union([z.array(str), str.transform((s) => [s])]),
  metric_key: key,
  start_step: opt(int64),
  end_step: opt(int64),
  max_results: opt(int64),
});
export type GetMetricHistoryBulkIntervalRequest = z.output<typeof getMetricHistoryBulkIntervalRequest>;

export const listArtifactsRequest = z.object({ ...runIdField, path: opt(str), page_token: opt(str) });
export type ListArtifactsRequest = z.output<typeof listArtifactsRequest>;
