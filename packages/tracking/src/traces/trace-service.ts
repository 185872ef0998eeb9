import type {
  DeleteTracesRequest,
  EndTraceRequest,
  FilterCorrelationRequest,
  LinkTracesToRunRequest,
  SearchTracesRequest,
  SearchTracesV3Request,
  StartTraceRequest,
  StartTraceV3Request,
  TraceInfoV2,
  TraceInfoV3,
} from "@keel/contract";
import { currentPrincipal, newId } from "@keel/core";
import { activeExperiment, joinUri, storePathOf } from "../artifact-scope";
import { invalidParam, missing, missingParam } from "../errors";
import type { TrackingContext } from "../tracking-context";
import { Assessments } from "./assessments";
import { npmiFromCounts } from "./npmi";
import {
  ARTIFACT_LOCATION_TAG,
  kvMap,
  parseDuration,
  parseTimestamp,
  TRACE_DATA_FILE,
  traceInfoV2,
  traceInfoV3,
} from "./trace-json";
import { parseTraceFilter, searchTraceRecords, traceMatches } from "./trace-search";
import { type TraceRecord, TraceStore } from "./trace-store";

const MAX_SEARCH_RESULTS_V3 = 500;
const MAX_LINKED_TRACES = 100;

const required = (v: string | undefined, name: string): string => {
  if (!v) throw missingParam(name);
  return v;
};

/**
 * MLflow Tracing on Keel's stores: trace info, tags and request metadata in the metadata store,
 * span data (`traces.json`, uploaded by the client through the artifact proxy) under
 * `<experiment artifact location>/traces/<trace id>/artifacts`, as MLflow's server lays it out.
 * Serves the 2.x API (a trace started, then ended) and 3.x's (a finished trace recorded once).
 */
export class TraceService {
  readonly store: TraceStore;
  readonly assessments: Assessments;

  constructor(private readonly ctx: TrackingContext) {
    this.store = new TraceStore(ctx.deps.store);
    this.assessments = new Assessments(ctx, this.store);
  }

  /** Records a trace's info; returns it with the artifact location tag the client uploads spans to. */
  async record(
    rec: Omit<TraceRecord, "createdBy" | "linkedRuns">,
    opts?: { create?: boolean },
  ): Promise<TraceRecord> {
    const exp = await activeExperiment(this.ctx, rec.experimentId);
    const location = joinUri(exp.artifactLocation, "traces", rec.traceId, "artifacts");
    const previous = opts?.create ? undefined : await this.store.get(rec.traceId);
    const full: TraceRecord = {
      ...rec,
      tags: { ...rec.tags, [ARTIFACT_LOCATION_TAG]: location },
      linkedRuns: previous?.linkedRuns ?? [],
      assessments: previous?.assessments ?? {},
      createdBy: previous?.createdBy ?? currentPrincipal(),
    };
    if (opts?.create) await this.store.create(full);
    else await this.store.put(full);
    return full;
  }

  async startTrace(r: StartTraceRequest): Promise<{ trace_info: TraceInfoV2 }> {
    const rec = await this.record(
      {
        traceId: newId(),
        experimentId: required(r.experiment_id, "experiment_id"),
        requestTime: r.timestamp_ms ?? this.ctx.now(),
        state: "IN_PROGRESS",
        metadata: kvMap(r.request_metadata),
        tags: kvMap(r.tags),
      },
      { create: true },
    );
    return { trace_info: traceInfoV2(rec) };
  }

  async endTrace(r: EndTraceRequest): Promise<{ trace_info: TraceInfoV2 }> {
    const rec = await this.store.mustGet(required(r.request_id, "request_id"));
    const end = r.timestamp_ms ?? this.ctx.now();
    const next: TraceRecord = {
      ...rec,
      executionDuration: end - rec.requestTime,
      state: r.status ?? rec.state,
      metadata: { ...rec.metadata, ...kvMap(r.request_metadata) },
      tags: { ...rec.tags, ...kvMap(r.tags) },
    };
    await this.store.put(next);
    return { trace_info: traceInfoV2(next) };
  }

  async startTraceV3(r: StartTraceV3Request): Promise<{ trace: { trace_info: TraceInfoV3 } }> {
    const info = r.trace?.trace_info;
    if (!r.trace) throw missingParam("trace");
    if (!info) throw missingParam("trace_info");
    const experimentId = info.trace_location?.mlflow_experiment?.experiment_id;
    if (!experimentId)
      throw invalidParam("Trace location must be an MLflow experiment with an experiment_id.");
    const rec = await this.record({
      traceId: info.trace_id || `tr-${newId()}`,
      experimentId,
      requestTime:
        info.request_time === undefined ? this.ctx.now() : parseTimestamp(info.request_time, "request_time"),
      executionDuration:
        info.execution_duration === undefined
          ? undefined
          : parseDuration(info.execution_duration, "execution_duration"),
      state: info.state ?? "STATE_UNSPECIFIED",
      clientRequestId: info.client_request_id,
      requestPreview: info.request_preview ?? info.request,
      responsePreview: info.response_preview ?? info.response,
      metadata: info.trace_metadata ?? {},
      tags: info.tags ?? {},
    });
    return { trace: { trace_info: traceInfoV3(rec) } };
  }

  /** The experiment a trace belongs to (access checks); RESOURCE_DOES_NOT_EXIST as MLflow words it. */
  async experimentOf(id: string): Promise<string> {
    return (await this.store.mustGet(id)).experimentId;
  }

  async getTraceInfo(id: string | undefined): Promise<{ trace_info: TraceInfoV2 }> {
    return { trace_info: traceInfoV2(await this.store.mustGet(required(id, "request_id"))) };
  }

  async getTraceInfoV3(id: string | undefined): Promise<{ trace: { trace_info: TraceInfoV3 } }> {
    return { trace: { trace_info: traceInfoV3(await this.store.mustGet(required(id, "trace_id"))) } };
  }

  private async inExperiments(ids: string[]): Promise<TraceRecord[]> {
    const lists = await Promise.all([...new Set(ids)].map((id) => this.store.listByExperiment(id)));
    return lists.flat();
  }

  async searchTraces(r: SearchTracesRequest): Promise<{ traces?: TraceInfoV2[]; next_page_token?: string }> {
    const ids = r.experiment_ids ?? [];
    const page = searchTraceRecords(await this.inExperiments(ids), r, ids);
    return { traces: page.traces.map(traceInfoV2), next_page_token: page.next_page_token };
  }

  async searchTracesV3(
    r: SearchTracesV3Request,
  ): Promise<{ traces?: TraceInfoV3[]; next_page_token?: string }> {
    if (!r.locations) throw missingParam("locations");
    if (r.max_results !== undefined && r.max_results > MAX_SEARCH_RESULTS_V3) {
      throw invalidParam(
        `Invalid value ${r.max_results} for parameter 'max_results' supplied. It must be at most ${MAX_SEARCH_RESULTS_V3}.`,
      );
    }
    const ids = r.locations.flatMap((l) =>
      l.mlflow_experiment?.experiment_id ? [l.mlflow_experiment.experiment_id] : [],
    );
    const page = searchTraceRecords(await this.inExperiments(ids), r, ids);
    return { traces: page.traces.map(traceInfoV3), next_page_token: page.next_page_token };
  }

  /** Deletes traces of an experiment: those named, or the oldest up to a time (at most `max_traces`). */
  async deleteTraces(r: DeleteTracesRequest): Promise<{ traces_deleted: number }> {
    const experimentId = required(r.experiment_id, "experiment_id");
    const byIds = r.request_ids && r.request_ids.length > 0;
    if (!byIds && r.max_timestamp_millis === undefined) {
      throw invalidParam("Either `max_timestamp_millis` or `request_ids` must be specified.");
    }
    if (byIds && r.max_timestamp_millis !== undefined) {
      throw invalidParam("Only one of `max_timestamp_millis` and `request_ids` can be specified.");
    }
    if (byIds && r.max_traces !== undefined) {
      throw invalidParam("`max_traces` can't be specified if `request_ids` is specified.");
    }
    if (r.max_traces !== undefined && r.max_traces <= 0) {
      throw invalidParam(`\`max_traces\` must be a positive integer, received ${r.max_traces}.`);
    }
    const all = await this.store.listByExperiment(experimentId);
    let doomed: TraceRecord[];
    if (byIds) {
      const wanted = new Set(r.request_ids);
      doomed = all.filter((t) => wanted.has(t.traceId));
    } else {
      doomed = all.filter((t) => t.requestTime <= (r.max_timestamp_millis as number));
      if (r.max_traces !== undefined) doomed = doomed.slice(0, r.max_traces);
    }
    await this.store.delete(doomed.map((t) => t.traceId));
    await Promise.all(doomed.map((t) => this.deleteSpanData(t)));
    if (doomed.length > 0) {
      await this.ctx.deps.audit.append({
        action: "tracking.traces.delete",
        resource: `experiment:${experimentId}`,
        state: { deleted: doomed.length },
      });
    }
    return { traces_deleted: doomed.length };
  }

  private async deleteSpanData(t: TraceRecord): Promise<void> {
    const dir = this.spanDataDir(t);
    if (dir) await this.ctx.deps.artifacts.delete(dir);
  }

  private spanDataDir(t: TraceRecord): string | undefined {
    const location = t.tags[ARTIFACT_LOCATION_TAG];
    return location ? storePathOf(location, this.ctx.deps.artifacts) : undefined;
  }

  async setTraceTag(id: string, r: { key?: string; value?: string }): Promise<Record<string, never>> {
    const key = required(r.key, "key");
    await this.store.update(id, { set: [[["tags", key], r.value ?? ""]] });
    return {};
  }

  async deleteTraceTag(id: string, r: { key?: string }): Promise<Record<string, never>> {
    const key = required(r.key, "key");
    const rec = await this.store.mustGet(id);
    if (!(key in rec.tags)) throw missing(`No trace tag with key '${key}' for trace with ID '${id}'`);
    await this.store.update(id, { remove: [["tags", key]] });
    return {};
  }

  async linkTracesToRun(r: LinkTracesToRunRequest): Promise<Record<string, never>> {
    const runId = required(r.run_id, "run_id");
    const ids = r.trace_ids ?? [];
    if (ids.length > MAX_LINKED_TRACES) {
      throw invalidParam(`Cannot link more than ${MAX_LINKED_TRACES} traces to a run in a single request.`);
    }
    await this.ctx.runs.mustGet(runId);
    for (const id of ids) {
      const rec = await this.store.mustGet(id);
      if (!rec.linkedRuns.includes(runId)) await this.store.update(id, { append: [["linkedRuns", [runId]]] });
    }
    return {};
  }

  /** The trace's span data (`traces.json`) as stored; RESOURCE_DOES_NOT_EXIST when none was uploaded. */
  async traceData(id: string | undefined): Promise<Buffer> {
    if (!id) throw invalidParam('Request must include the "request_id" query parameter.');
    const rec = await this.store.mustGet(id);
    const dir = this.spanDataDir(rec);
    const path = dir && `${dir}/${TRACE_DATA_FILE}`;
    if (!path || !(await this.ctx.deps.artifacts.exists(path))) {
      throw missing(`Trace data not found for trace with ID ${id}.`);
    }
    return this.ctx.deps.artifacts.getBytes(path);
  }

  async calculateFilterCorrelation(r: FilterCorrelationRequest): Promise<{
    npmi: number | string;
    npmi_smoothed: number | string;
    filter1_count: number;
    filter2_count: number;
    joint_count: number;
    total_count: number;
  }> {
    const f1 = parseTraceFilter(required(r.filter_string1, "filter_string1"));
    const f2 = parseTraceFilter(required(r.filter_string2, "filter_string2"));
    const base = parseTraceFilter(r.base_filter);
    const ids = r.experiment_ids ?? [];
    if (ids.length === 0) throw missingParam("experiment_ids");
    const population = (await this.inExperiments(ids)).filter((t) => traceMatches(t, base));
    let c1 = 0;
    let c2 = 0;
    let joint = 0;
    for (const t of population) {
      const m1 = traceMatches(t, f1);
      const m2 = traceMatches(t, f2);
      if (m1) c1++;
      if (m2) c2++;
      if (m1 && m2) joint++;
    }
    const { npmi, npmiSmoothed } = npmiFromCounts(joint, c1, c2, population.length);
    const json = (n: number) => (Number.isNaN(n) ? "NaN" : n);
    return {
      npmi: json(npmi),
      npmi_smoothed: json(npmiSmoothed),
      filter1_count: c1,
      filter2_count: c2,
      joint_count: joint,
      total_count: population.length,
    };
  }
}
