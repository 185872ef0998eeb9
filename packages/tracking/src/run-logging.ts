import { digest } from "@keel/core";
import { invalidParam, missing, missingParam } from "./errors";
import { encodeValue, type HistoryPoint } from "./metric-values";
import { isNewer, type LatestMetric, latestMetric, mustBeActive } from "./run-store";
import type {
  DeleteTagRequest,
  LogBatchRequest,
  LogInputsRequest,
  LogMetricRequest,
  LogModelRequest,
  LogParamRequest,
  SetTagRequest,
} from "./schemas";
import { requireRunId, type TrackingContext } from "./tracking-context";
import { duplicateKeys, LIMITS, validateKey, validateParam, validateStep, validateTag } from "./validation";

/** Longest param or tag value kept in the audit event of a write (the store keeps the whole value). */
const AUDIT_VALUE_CHARS = 500;
const auditValue = (v: string) => (v.length > AUDIT_VALUE_CHARS ? `${v.slice(0, AUDIT_VALUE_CHARS)}…` : v);

export const LOGGED_MODELS_TAG = "mlflow.log-model.history";

/** Metrics, params, tags, inputs and models logged to a run. */
export class RunLogging {
  constructor(private readonly ctx: TrackingContext) {}

  /** One metric point: the hot path, one conditional update and one put in parallel, no read. */
  async logMetric(r: LogMetricRequest): Promise<Record<string, never>> {
    const runId = requireRunId(r);
    validateKey("Metric", r.key);
    const step = r.step ?? 0;
    validateStep(step, r.timestamp);
    const v = encodeValue(r.value);
    await this.ctx.assertNotFrozen(runId, "logging a metric");
    // The point and the latest value are written in parallel (one round trip, not two); if the
    // run turns out to be missing or deleted, the point is taken back before answering.
    const [latest, appended] = await Promise.allSettled([
      this.ctx.runs.setLatestMetric(runId, r.key, latestMetric(v, r.timestamp, step)),
      this.ctx.history.append(runId, new Map([[r.key, [[step, r.timestamp, v]]]])),
    ]);
    if (appended.status === "rejected") throw appended.reason;
    const written = appended.value;
    if (latest.status === "rejected") {
      // Nothing half-written: a point whose latest value could not be recorded is taken back.
      await this.ctx.history.remove(written);
      throw latest.reason;
    }
    const outcome = latest.value;
    if (outcome === "missing" || outcome === "inactive") {
      await this.ctx.history.remove(written);
      if (outcome === "missing") throw missing(`Run with id=${runId} not found`);
      throw invalidParam(`The run ${runId} must be in the 'active' state. Current state is deleted.`);
    }
    await this.ctx.deps.audit.append({
      action: "tracking.run.log",
      resource: `run:${runId}`,
      state: { metrics: { [r.key]: v } },
    });
    if (r.model_id) {
      await this.ctx.loggedModels.appendMetric(r.model_id, {
        key: r.key,
        value: r.value,
        timestamp: r.timestamp,
        step,
        run_id: runId,
        ...(r.dataset_name && { dataset_name: r.dataset_name }),
        ...(r.dataset_digest && { dataset_digest: r.dataset_digest }),
      });
    }
    return {};
  }

  async logParam(r: LogParamRequest): Promise<Record<string, never>> {
    return this.logBatch({ run_id: requireRunId(r), params: [{ key: r.key, value: r.value }] });
  }

  async setTag(r: SetTagRequest): Promise<Record<string, never>> {
    return this.logBatch({ run_id: requireRunId(r), tags: [{ key: r.key, value: r.value }] });
  }

  async deleteTag(r: DeleteTagRequest): Promise<Record<string, never>> {
    const runId = requireRunId(r);
    await this.ctx.assertNotFrozen(runId, "deleting a tag");
    await this.ctx.runs.mutate(runId, (rec) => {
      mustBeActive(rec);
      if (!(r.key in rec.tags)) throw missing(`No tag with name: ${r.key} in run with id ${runId}`);
      delete rec.tags[r.key];
    });
    await this.ctx.deps.audit.append({
      action: "tracking.run.delete_tag",
      resource: `run:${runId}`,
      state: { key: r.key },
    });
    return {};
  }

  /**
   * Metrics, params and tags in one request, applied whole or not at all: everything is
   * validated first, then the run record is written once (conditional on its version) and the
   * metric points go to history chunks, one per key.
   */
  async logBatch(r: LogBatchRequest): Promise<Record<string, never>> {
    const runId = requireRunId(r);
    const metrics = r.metrics ?? [];
    const params = r.params ?? [];
    const tags = r.tags ?? [];
    if (metrics.length > LIMITS.maxMetricsPerBatch) {
      throw invalidParam(
        `A batch logging request can contain at most ${LIMITS.maxMetricsPerBatch} metrics. Got ${metrics.length} ` +
          "metrics. Please split up metrics across multiple requests and try again.",
      );
    }
    for (const [what, list] of [
      ["params", params],
      ["tags", tags],
    ] as const) {
      if (list.length > LIMITS.maxParamsTagsPerBatch) {
        throw invalidParam(
          `A batch logging request can contain at most ${LIMITS.maxParamsTagsPerBatch} ${what}. Got ${list.length} ` +
            `${what}. Please split up ${what} across multiple requests and try again.`,
        );
      }
    }
    const total = metrics.length + params.length + tags.length;
    if (total > LIMITS.maxEntitiesPerBatch) {
      throw invalidParam(
        `A batch logging request can contain at most ${LIMITS.maxEntitiesPerBatch} total metrics, params and tags. ` +
          `Got ${total}.`,
      );
    }
    for (const m of metrics) {
      validateKey("Metric", m.key);
      validateStep(m.step ?? 0, m.timestamp);
    }
    for (const p of params) validateParam(p.key, p.value);
    for (const t of tags) validateTag(t.key, t.value);
    const dups = duplicateKeys(params);
    if (dups.length) {
      throw invalidParam(
        `Duplicate parameter keys have been submitted with different values: ${dups.join(", ")}.`,
      );
    }

    await this.ctx.assertNotFrozen(runId, "logging metrics, params or tags");
    const byKey = new Map<string, HistoryPoint[]>();
    for (const m of metrics) {
      const point: HistoryPoint = [m.step ?? 0, m.timestamp, encodeValue(m.value)];
      const list = byKey.get(m.key);
      if (list) list.push(point);
      else byKey.set(m.key, [point]);
    }
    const latest = new Map<string, LatestMetric>();
    for (const [key, points] of byKey) {
      for (const [s, t, v] of points)
        if (isNewer(latest.get(key), s, t)) latest.set(key, latestMetric(v, t, s));
    }
    // As in logMetric: record and history chunks in parallel; a refused record takes the chunks back.
    const [logged, written] = await Promise.allSettled([
      this.ctx.runs.log(runId, { params, tags, metrics: latest }),
      this.ctx.history.append(runId, byKey),
    ]);
    if (logged.status === "rejected") {
      if (written.status === "fulfilled") await this.ctx.history.remove(written.value);
      throw logged.reason;
    }
    if (written.status === "rejected") throw written.reason;
    // One event per request, however many values it logged: the latest value per metric key.
    await this.ctx.deps.audit.append({
      action: "tracking.run.log",
      resource: `run:${runId}`,
      state: {
        metrics: Object.fromEntries([...latest].map(([k, m]) => [k, m.v])),
        params: Object.fromEntries(params.map((p) => [p.key, auditValue(p.value)])),
        tags: Object.fromEntries(tags.map((t) => [t.key, auditValue(t.value)])),
      },
    });
    return {};
  }

  async logInputs(r: LogInputsRequest): Promise<Record<string, never>> {
    const runId = requireRunId(r);
    if (r.datasets === undefined) throw missingParam("datasets");
    const datasets = r.datasets;
    const models = (r.models ?? []).map((m) => m.model_id);
    for (const id of models) await this.ctx.loggedModels.mustGet(id);
    if (datasets.length > LIMITS.maxDatasetInputsPerCall) {
      throw invalidParam(
        `A log-inputs request can contain at most ${LIMITS.maxDatasetInputsPerCall} datasets.`,
      );
    }
    for (const d of datasets) for (const t of d.tags ?? []) validateTag(t.key, t.value);
    await this.ctx.assertNotFrozen(runId, "logging inputs");
    await this.ctx.runs.mutate(runId, (rec) => {
      mustBeActive(rec);
      let changed = false;
      for (const d of datasets) {
        // The same dataset logged twice to a run is one input, as in MLflow.
        const id = digest([d.dataset.name, d.dataset.digest]).slice(0, 32);
        if (rec.inputs[id]) continue;
        rec.inputs[id] = { seq: Object.keys(rec.inputs).length, dataset: d.dataset, tags: d.tags };
        changed = true;
      }
      for (const id of models) {
        if (rec.modelInputs?.includes(id)) continue;
        rec.modelInputs = [...(rec.modelInputs ?? []), id];
        changed = true;
      }
      return changed;
    });
    return {};
  }

  /** Appends the model's metadata to the run's `mlflow.log-model.history` tag, as MLflow does. */
  async logModel(r: LogModelRequest): Promise<Record<string, never>> {
    const runId = requireRunId(r);
    let model: unknown;
    try {
      model = JSON.parse(r.model_json);
    } catch {
      throw invalidParam("Value of model_json is not valid JSON");
    }
    if (!model || typeof model !== "object" || Array.isArray(model)) {
      throw invalidParam("Value of model_json must be a json object");
    }
    const missingFields = ["artifact_path", "flavors", "utc_time_created", "run_id"].filter(
      (f) => !(f in model),
    );
    if (missingFields.length)
      throw invalidParam(`Model json is missing mandatory fields: ${missingFields.join(", ")}`);
    await this.ctx.assertNotFrozen(runId, "logging a model");
    await this.ctx.runs.mutate(runId, (rec) => {
      mustBeActive(rec);
      let history: unknown[] = [];
      try {
        const prev = JSON.parse(rec.tags[LOGGED_MODELS_TAG] ?? "[]");
        if (Array.isArray(prev)) history = prev;
      } catch {
        history = [];
      }
      rec.tags[LOGGED_MODELS_TAG] = JSON.stringify([...history, model]);
    });
    return {};
  }
}
