import type { TraceInfoV2, TraceInfoV3 } from "@keel/contract";
import { invalidParam } from "../errors";
import type { TraceRecord } from "./trace-store";

/** The tag naming where a trace's span data (`traces.json`) lives, as MLflow's server sets it. */
export const ARTIFACT_LOCATION_TAG = "mlflow.artifactLocation";
export const TRACE_NAME_TAG = "mlflow.traceName";
export const SOURCE_RUN_METADATA = "mlflow.sourceRun";
export const TRACE_DATA_FILE = "traces.json";

const kv = (m: Record<string, string>) => Object.entries(m).map(([key, value]) => ({ key, value }));
const v2Status = (s: TraceRecord["state"]) => (s === "STATE_UNSPECIFIED" ? "TRACE_STATUS_UNSPECIFIED" : s);

/** The 2.x TraceInfo message. */
export function traceInfoV2(r: TraceRecord): TraceInfoV2 {
  return {
    request_id: r.traceId,
    experiment_id: r.experimentId,
    timestamp_ms: r.requestTime,
    execution_time_ms: r.executionDuration ?? 0,
    status: v2Status(r.state),
    request_metadata: kv(r.metadata),
    tags: kv(r.tags),
  };
}

/** MLflow 3's TraceInfoV3 message, with protobuf JSON Timestamp and Duration. */
export function traceInfoV3(r: TraceRecord): TraceInfoV3 {
  return {
    trace_id: r.traceId,
    ...(r.clientRequestId !== undefined && { client_request_id: r.clientRequestId }),
    trace_location: { type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: r.experimentId } },
    ...(r.requestPreview !== undefined && { request_preview: r.requestPreview }),
    ...(r.responsePreview !== undefined && { response_preview: r.responsePreview }),
    request_time: new Date(r.requestTime).toISOString(),
    ...(r.executionDuration !== undefined && {
      execution_duration: `${(r.executionDuration / 1000).toFixed(3)}s`,
    }),
    state: r.state,
    trace_metadata: r.metadata,
    tags: r.tags,
    assessments: Object.values(r.assessments ?? {}),
  };
}

/** A protobuf JSON Timestamp ("2024-05-01T10:00:00.123456Z") or epoch ms, as epoch ms. */
export function parseTimestamp(v: string | number, field: string): number {
  if (typeof v === "number") return Math.trunc(v);
  const ms = Date.parse(v.replace(/(\.\d{3})\d+/, "$1"));
  if (Number.isNaN(ms)) throw invalidParam(`Invalid value '${v}' for parameter '${field}': not a timestamp`);
  return ms;
}

/** A protobuf JSON Duration ("1.5s") or ms, as whole ms. */
export function parseDuration(v: string | number, field: string): number {
  if (typeof v === "number") return Math.trunc(v);
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(v.trim());
  if (!m) throw invalidParam(`Invalid value '${v}' for parameter '${field}': not a duration`);
  return Math.round(Number(m[1]) * 1000);
}

/** `[{key, value}]` as a map (a missing value is ""). */
export function kvMap(list: Array<{ key: string; value?: string }> | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((e) => [e.key, e.value ?? ""]));
}
