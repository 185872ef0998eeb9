import { z } from "zod";
import { MLFLOW_ERRORS as ERRORS, mlflowRouteFactory } from "./mlflow-route";
import { int32, int64, opt } from "./mlflow-tracking-schemas";
import { defineRoute } from "./route";

/**
 * MLflow Tracing REST API (mlflow/protos/service.proto, MLflow 2.14+ and 3.x): the 2.0 trace
 * endpoints (StartTrace/EndTrace, get info, search, tags, delete, link to run), the 3.0 ones
 * (StartTraceV3, GetTraceInfoV3, SearchTracesV3) and the UI's `get-trace-artifact`. Span data is
 * not sent here: clients upload `traces.json` through the artifact proxy to the location the
 * `mlflow.artifactLocation` tag names.
 */
const P2 = "/api/2.0/mlflow";
const P3 = "/api/3.0/mlflow";
const tags = ["MLflow tracing"] as const;

const str = z.string();
const strList = z.union([z.array(str), str.transform((s) => [s])]);
const kvList = z.array(z.object({ key: str, value: opt(str) }));
const strMap = z.record(z.string(), z.string());

export const TRACE_STATES = ["STATE_UNSPECIFIED", "OK", "ERROR", "IN_PROGRESS"] as const;
export type TraceState = (typeof TRACE_STATES)[number];
/** A trace's state by name (TraceInfoV3.State or the 2.x TraceStatus) or proto number. */
const traceState = z.union([
  z
    .enum([...TRACE_STATES, "TRACE_STATUS_UNSPECIFIED"])
    .transform((s): TraceState => (s === "TRACE_STATUS_UNSPECIFIED" ? "STATE_UNSPECIFIED" : s)),
  int32.pipe(z.number().min(0).max(3)).transform((n) => TRACE_STATES[n]),
]);

/** Protobuf JSON Timestamp ("2024-01-01T00:00:00.123Z") or Duration ("1.5s"); numbers as ms. */
const timeish = z.union([z.string(), z.number()]);

const traceLocation = z.object({
  type: opt(z.union([z.string(), z.number()])),
  mlflow_experiment: opt(z.object({ experiment_id: opt(str) })),
  inference_table: opt(z.object({ full_table_name: opt(str) })),
});

export const traceInfoV3Input = z.object({
  trace_id: opt(str),
  client_request_id: opt(str),
  trace_location: opt(traceLocation),
  request: opt(str),
  response: opt(str),
  request_preview: opt(str),
  response_preview: opt(str),
  request_time: opt(timeish),
  execution_duration: opt(timeish),
  state: opt(traceState),
  trace_metadata: opt(strMap),
  tags: opt(strMap),
});
export type TraceInfoV3Input = z.output<typeof traceInfoV3Input>;

export const startTraceRequest = z.object({
  experiment_id: opt(str),
  timestamp_ms: opt(int64),
  request_metadata: opt(kvList),
  tags: opt(kvList),
});
export const endTraceRequest = z.object({
  request_id: opt(str),
  timestamp_ms: opt(int64),
  status: opt(traceState),
  request_metadata: opt(kvList),
  tags: opt(kvList),
});
export const startTraceV3Request = z.object({
  trace: opt(z.object({ trace_info: opt(traceInfoV3Input) })),
});
export const traceIdRequest = z.object({ request_id: opt(str), trace_id: opt(str) });
export const searchTracesRequest = z.object({
  experiment_ids: opt(strList),
  filter: opt(str),
  max_results: opt(int32),
  order_by: opt(strList),
  page_token: opt(str),
});
export const searchTracesV3Request = z.object({
  locations: opt(z.array(traceLocation)),
  filter: opt(str),
  max_results: opt(int32),
  order_by: opt(strList),
  page_token: opt(str),
});
export const deleteTracesRequest = z.object({
  experiment_id: opt(str),
  max_timestamp_millis: opt(int64),
  max_traces: opt(int32),
  request_ids: opt(strList),
});
export const setTraceTagRequest = z.object({ key: opt(str), value: opt(str) });
export const deleteTraceTagRequest = z.object({ key: opt(str) });
export const linkTracesToRunRequest = z.object({ trace_ids: opt(strList), run_id: opt(str) });
export const filterCorrelationRequest = z.object({
  experiment_ids: opt(strList),
  filter_string1: opt(str),
  filter_string2: opt(str),
  base_filter: opt(str),
});

const assessmentBody = z.record(z.string(), z.unknown());
export const assessmentRequest = z.object({ assessment: opt(assessmentBody), update_mask: opt(str) });
export type AssessmentRequest = z.output<typeof assessmentRequest>;

export type StartTraceRequest = z.output<typeof startTraceRequest>;
export type EndTraceRequest = z.output<typeof endTraceRequest>;
export type StartTraceV3Request = z.output<typeof startTraceV3Request>;
export type SearchTracesRequest = z.output<typeof searchTracesRequest>;
export type SearchTracesV3Request = z.output<typeof searchTracesV3Request>;
export type DeleteTracesRequest = z.output<typeof deleteTracesRequest>;
export type LinkTracesToRunRequest = z.output<typeof linkTracesToRunRequest>;
export type FilterCorrelationRequest = z.output<typeof filterCorrelationRequest>;

const kvOut = z.array(z.object({ key: z.string(), value: z.string() }));
/** The 2.x TraceInfo. */
export const traceInfoV2Schema = z.object({
  request_id: z.string(),
  experiment_id: z.string(),
  timestamp_ms: z.number(),
  execution_time_ms: z.number().optional(),
  status: z.string(),
  request_metadata: kvOut,
  tags: kvOut,
});
export type TraceInfoV2 = z.infer<typeof traceInfoV2Schema>;
/** MLflow 3's TraceInfoV3 (timestamps and durations in protobuf JSON form). */
export const traceInfoV3Schema = z.object({
  trace_id: z.string(),
  client_request_id: z.string().optional(),
  trace_location: z.object({
    type: z.literal("MLFLOW_EXPERIMENT"),
    mlflow_experiment: z.object({ experiment_id: z.string() }),
  }),
  request_preview: z.string().optional(),
  response_preview: z.string().optional(),
  request_time: z.string(),
  execution_duration: z.string().optional(),
  state: z.string(),
  trace_metadata: strMap,
  tags: strMap,
  assessments: z.array(z.unknown()),
});
export type TraceInfoV3 = z.infer<typeof traceInfoV3Schema>;

const route = mlflowRouteFactory({ prefix: "", tags });

const v2Info = z.object({ trace_info: traceInfoV2Schema });
const v3Trace = z.object({ trace: z.object({ trace_info: traceInfoV3Schema }) });
const page = { next_page_token: z.string().optional() };
const deleted = z.object({ traces_deleted: z.number() });
const empty = z.object({});

export const traceRoutes = {
  startTrace: route(
    "traces.startTrace",
    "POST",
    `${P2}/traces`,
    "Start a trace (2.x)",
    startTraceRequest,
    v2Info,
  ),
  endTrace: route(
    "traces.endTrace",
    "PATCH",
    `${P2}/traces/:request_id`,
    "End a trace (2.x)",
    endTraceRequest,
    v2Info,
  ),
  getTraceInfo: route(
    "traces.getTraceInfo",
    "GET",
    `${P2}/traces/:request_id/info`,
    "A trace's info (2.x)",
    traceIdRequest,
    v2Info,
  ),
  searchTraces: route(
    "traces.searchTraces",
    "GET",
    `${P2}/traces`,
    "Search traces (2.x)",
    searchTracesRequest,
    z.object({ traces: z.array(traceInfoV2Schema).optional(), ...page }),
  ),
  deleteTraces: route(
    "traces.deleteTraces",
    "POST",
    `${P2}/traces/delete-traces`,
    "Delete traces of an experiment",
    deleteTracesRequest,
    deleted,
  ),
  setTraceTag: route(
    "traces.setTraceTag",
    "PATCH",
    `${P2}/traces/:request_id/tags`,
    "Set a tag on a trace",
    setTraceTagRequest,
    empty,
  ),
  deleteTraceTag: route(
    "traces.deleteTraceTag",
    "DELETE",
    `${P2}/traces/:request_id/tags`,
    "Delete a tag of a trace",
    deleteTraceTagRequest,
    empty,
  ),
  linkTracesToRun: route(
    "traces.linkTracesToRun",
    "POST",
    `${P2}/traces/link-to-run`,
    "Link traces to a run",
    linkTracesToRunRequest,
    empty,
  ),
  getTraceArtifact: defineRoute({
    id: "traces.getTraceArtifact",
    method: "GET",
    mlflow: true,
    path: "/ajax-api/2.0/mlflow/get-trace-artifact",
    summary: "A trace's span data (traces.json), as the MLflow UI downloads it",
    tags,
    body: traceIdRequest,
    responseType: "application/octet-stream",
    errors: ERRORS,
  }),
  startTraceV3: route(
    "traces.startTraceV3",
    "POST",
    `${P3}/traces`,
    "Record a finished trace (3.x)",
    startTraceV3Request,
    v3Trace,
  ),
  getTraceInfoV3: route(
    "traces.getTraceInfoV3",
    "GET",
    `${P3}/traces/:trace_id`,
    "A trace's info (3.x)",
    traceIdRequest,
    v3Trace,
  ),
  searchTracesV3: route(
    "traces.searchTracesV3",
    "POST",
    `${P3}/traces/search`,
    "Search traces (3.x)",
    searchTracesV3Request,
    z.object({ traces: z.array(traceInfoV3Schema).optional(), ...page }),
  ),
  deleteTracesV3: route(
    "traces.deleteTracesV3",
    "POST",
    `${P3}/traces/delete-traces`,
    "Delete traces of an experiment (3.x)",
    deleteTracesRequest,
    deleted,
  ),
  setTraceTagV3: route(
    "traces.setTraceTagV3",
    "PATCH",
    `${P3}/traces/:trace_id/tags`,
    "Set a tag on a trace (3.x)",
    setTraceTagRequest,
    empty,
  ),
  deleteTraceTagV3: route(
    "traces.deleteTraceTagV3",
    "DELETE",
    `${P3}/traces/:trace_id/tags`,
    "Delete a tag of a trace (3.x)",
    deleteTraceTagRequest,
    empty,
  ),
  createAssessment: route(
    "traces.createAssessment",
    "POST",
    `${P3}/traces/:trace_id/assessments`,
    "Attach feedback or an expectation to a trace",
    assessmentRequest,
    z.object({ assessment: assessmentBody }),
  ),
  getAssessment: route(
    "traces.getAssessment",
    "GET",
    `${P3}/traces/:trace_id/assessments/:assessment_id`,
    "Get an assessment of a trace",
    z.object({}),
    z.object({ assessment: assessmentBody }),
  ),
  updateAssessment: route(
    "traces.updateAssessment",
    "PATCH",
    `${P3}/traces/:trace_id/assessments/:assessment_id`,
    "Update fields (update_mask) of an assessment",
    assessmentRequest,
    z.object({ assessment: assessmentBody }),
  ),
  deleteAssessment: route(
    "traces.deleteAssessment",
    "DELETE",
    `${P3}/traces/:trace_id/assessments/:assessment_id`,
    "Delete an assessment (an overridden one becomes valid again)",
    z.object({}),
    empty,
  ),
  calculateFilterCorrelation: route(
    "traces.calculateFilterCorrelation",
    "POST",
    `${P3}/traces/calculate-filter-correlation`,
    "NPMI correlation of two trace filters",
    filterCorrelationRequest,
    z.object({
      npmi: z.union([z.number(), z.string()]),
      npmi_smoothed: z.union([z.number(), z.string()]).optional(),
      filter1_count: z.number(),
      filter2_count: z.number(),
      joint_count: z.number(),
      total_count: z.number(),
    }),
  ),
};
