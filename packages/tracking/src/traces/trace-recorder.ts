import { randomBytes } from "node:crypto";
import { storePathOf } from "../artifact-scope";
import { ARTIFACT_LOCATION_TAG, SOURCE_RUN_METADATA, TRACE_DATA_FILE, TRACE_NAME_TAG } from "./trace-json";
import type { TraceService } from "./trace-service";

/** One call a server-side component (the LLM gateway) made, to be kept as an MLflow trace. */
export interface RecordedCall {
  experimentId: string;
  /** The span and trace name, e.g. "chat.completions gpt-4o". */
  name: string;
  startTimeMs: number;
  endTimeMs: number;
  /** The request body (kept as the span's inputs and the trace's request preview). */
  inputs: unknown;
  /** The answer; absent when the call failed. */
  outputs?: unknown;
  /** Why the call failed; the trace's state is then ERROR. */
  error?: string;
  /** "LLM", "CHAT_MODEL", "EMBEDDING", ... (MLflow span types). */
  spanType?: string;
  usage?: { inputTokens: number; outputTokens: number };
  /** What the call cost, in US dollars. */
  costUsd?: number;
  /** The run to attach the trace to (`mlflow.sourceRun`). */
  runId?: string;
  tags?: Record<string, string>;
  /** Extra request metadata (e.g. the model, the upstream backend). */
  metadata?: Record<string, string>;
}

export const TOKEN_USAGE_METADATA = "mlflow.trace.tokenUsage";
export const COST_METADATA = "keel.costUsd";
const PREVIEW_CHARS = 10_000;

const json = (v: unknown) => JSON.stringify(v ?? null);
const preview = (v: unknown) => json(v).slice(0, PREVIEW_CHARS);

/**
 * Records calls made inside Keel as MLflow 3 traces (one LLM span each), exactly as the MLflow
 * client would log them: the info in the metadata store, `traces.json` under the trace's
 * artifact location, so `mlflow.search_traces()` and the MLflow UI show them with token usage.
 */
export class TraceRecorder {
  constructor(
    private readonly traces: TraceService,
    private readonly artifacts: Parameters<typeof storePathOf>[1],
  ) {}

  async record(call: RecordedCall): Promise<{ traceId: string }> {
    const otelTraceId = randomBytes(16);
    const traceId = `tr-${otelTraceId.toString("hex")}`;
    const usage = call.usage && {
      input_tokens: call.usage.inputTokens,
      output_tokens: call.usage.outputTokens,
      total_tokens: call.usage.inputTokens + call.usage.outputTokens,
    };
    const metadata: Record<string, string> = {
      "mlflow.trace_schema.version": "3",
      "mlflow.traceInputs": preview(call.inputs),
      "mlflow.traceOutputs": preview(call.outputs),
      ...call.metadata,
      ...(usage && { [TOKEN_USAGE_METADATA]: json(usage) }),
      ...(call.costUsd !== undefined && { [COST_METADATA]: String(call.costUsd) }),
      ...(call.runId && { [SOURCE_RUN_METADATA]: call.runId }),
    };
    const rec = await this.traces.record({
      traceId,
      experimentId: call.experimentId,
      requestTime: call.startTimeMs,
      executionDuration: Math.max(0, call.endTimeMs - call.startTimeMs),
      state: call.error === undefined ? "OK" : "ERROR",
      requestPreview: preview(call.inputs),
      responsePreview: call.outputs === undefined ? undefined : preview(call.outputs),
      metadata,
      tags: { [TRACE_NAME_TAG]: call.name, ...call.tags },
    });
    const span = {
      trace_id: otelTraceId.toString("base64"),
      span_id: randomBytes(8).toString("base64"),
      parent_span_id: null,
      name: call.name,
      start_time_unix_nano: call.startTimeMs * 1_000_000,
      end_time_unix_nano: call.endTimeMs * 1_000_000,
      events: [],
      status: {
        code: call.error === undefined ? "STATUS_CODE_OK" : "STATUS_CODE_ERROR",
        message: call.error ?? "",
      },
      attributes: {
        "mlflow.traceRequestId": json(traceId),
        "mlflow.spanType": json(call.spanType ?? "LLM"),
        "mlflow.spanInputs": json(call.inputs),
        ...(call.outputs !== undefined && { "mlflow.spanOutputs": json(call.outputs) }),
        ...(usage && { "mlflow.chat.tokenUsage": json(usage) }),
        ...(call.costUsd !== undefined && { [COST_METADATA]: json(call.costUsd) }),
      },
    };
    const dir = storePathOf(rec.tags[ARTIFACT_LOCATION_TAG], this.artifacts);
    if (dir)
      await this.artifacts.put(`${dir}/${TRACE_DATA_FILE}`, Buffer.from(JSON.stringify({ spans: [span] })));
    return { traceId };
  }
}
