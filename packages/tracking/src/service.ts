import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import { type Clock, currentPrincipal, digest, newId, parseWith } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { invalidParam, missing, TrackingError } from "./errors";
import { DEFAULT_EXPERIMENT_ID, type ExperimentRecord, ExperimentStore } from "./experiment-store";
import { MetricHistoryStore } from "./metric-history-store";
import { decodeValue, encodeValue, type HistoryPoint, jsonValue } from "./metric-values";
import { experimentJson, runInfoJson, runJson } from "./mlflow-json";
import { decodePageToken, encodePageToken } from "./page-token";
import type { FrozenRuns } from "./ports";
import { generateRunName } from "./run-names";
import {
  isNewer,
  type LatestMetric,
  latestMetric,
  mustBeActive,
  RUN_NAME_TAG,
  type RunRecord,
  RunStore,
} from "./run-store";
import {
  type CreateExperimentRequest,
  type CreateRunRequest,
  type DeleteExperimentTagRequest,
  type DeleteTagRequest,
  type Experiment,
  experimentIdRequest,
  type GetMetricHistoryBulkIntervalRequest,
  type GetMetricHistoryRequest,
  getByNameRequest,
  type ListArtifactsRequest,
  type LogBatchRequest,
  type LogInputsRequest,
  type LogMetricRequest,
  type LogModelRequest,
  type LogParamRequest,
  type Metric,
  type Run,
  type RunInfo,
  runIdRequest,
  type SearchExperimentsRequest,
  type SearchRunsRequest,
  type SetExperimentTagRequest,
  type SetTagRequest,
  type UpdateExperimentRequest,
  type UpdateRunRequest,
  type ViewType,
} from "./schemas";
import { matchesAll, orderComparator, type Searchable } from "./search-eval";
import { type OrderBy, parseFilter, parseOrderBy, type SearchTarget } from "./search-grammar";
import {
  duplicateKeys,
  LIMITS,
  validateExperimentName,
  validateExperimentTag,
  validateKey,
  validateLength,
  validateMaxResults,
  validateParam,
  validateStep,
  validateTag,
} from "./validation";

export interface TrackingDeps {
  store: MetadataStore;
  artifacts: ArtifactStore;
  /** Only appends: tracking records lifecycle changes, it never reads the log. */
  audit: Pick<AuditLog, "append">;
  clock: Clock;
  config: { artifactRoot: string };
  /** Runs a pending or approved promotion relies on: writes to them are refused (the registry's). */
  frozen?: FrozenRuns;
}

/** Longest param or tag value kept in the audit event of a write (the store keeps the whole value). */
const AUDIT_VALUE_CHARS = 500;
const auditValue = (v: string) => (v.length > AUDIT_VALUE_CHARS ? `${v.slice(0, AUDIT_VALUE_CHARS)}…` : v);

export const USER_TAG = "mlflow.user";
export const LOGGED_MODELS_TAG = "mlflow.log-model.history";
const DATASET_CONTEXT_TAG = "mlflow.data.context";

export const RUN_SEARCH: SearchTarget = {
  what: "runs",
  entities: ["metric", "param", "tag", "attribute", "dataset"],
  attributes: {
    run_id: "run_id",
    run_name: "run_name",
    // MLflow's alternate spellings (search_utils._ALTERNATE_RUN_NAME_KEYS), written with backquotes.
    "run name": "run_name",
    "Run name": "run_name",
    "Run Name": "run_name",
    status: "status",
    user_id: "user_id",
    artifact_uri: "artifact_uri",
    start_time: "start_time",
    end_time: "end_time",
    created: "start_time",
    Created: "start_time",
  },
  numericAttributes: new Set(["start_time", "end_time"]),
  datasetKeys: ["name", "digest", "context"],
};

export const EXPERIMENT_SEARCH: SearchTarget = {
  what: "experiments",
  entities: ["attribute", "tag"],
  attributes: {
    name: "name",
    experiment_id: "experiment_id",
    creation_time: "creation_time",
    last_update_time: "last_update_time",
  },
  numericAttributes: new Set(["creation_time", "last_update_time"]),
  datasetKeys: [],
};

const lifecycleVisible = (stage: "active" | "deleted", view: ViewType) =>
  view === "ALL" || (view === "ACTIVE_ONLY" ? stage === "active" : stage === "deleted");

const requireRunId = (r: { run_id?: string; run_uuid?: string }): string => {
  const id = r.run_id || r.run_uuid;
  if (!id) throw invalidParam("Missing value for required parameter 'run_id'.");
  return id;
};

class RunView implements Searchable {
  constructor(readonly rec: RunRecord) {}
  metric(key: string) {
    const m = this.rec.metrics[key];
    return m ? decodeValue(m.v) : undefined;
  }
  param(key: string) {
    return this.rec.params[key];
  }
  tag(key: string) {
    return this.rec.tags[key];
  }
  attribute(key: string): string | number | undefined {
    const r = this.rec;
    switch (key) {
      case "run_id":
        return r.runId;
      case "run_name":
        return r.runName;
      case "status":
        return r.status;
      case "user_id":
        return r.userId;
      case "artifact_uri":
        return r.artifactUri;
      case "start_time":
        return r.startTime;
      case "end_time":
        return r.endTime;
      default:
        return undefined;
    }
  }
  datasets() {
    return Object.values(this.rec.inputs).map((i) => ({
      name: i.dataset.name,
      digest: i.dataset.digest,
      context: i.tags?.find((t) => t.key === DATASET_CONTEXT_TAG)?.value,
    }));
  }
}

class ExperimentView implements Searchable {
  constructor(readonly rec: ExperimentRecord) {}
  metric() {
    return undefined;
  }
  param() {
    return undefined;
  }
  tag(key: string) {
    return this.rec.tags[key];
  }
  attribute(key: string): string | number | undefined {
    const e = this.rec;
    if (key === "name") return e.name;
    if (key === "experiment_id") return e.experimentId;
    if (key === "creation_time") return e.creationTime;
    if (key === "last_update_time") return e.lastUpdateTime;
    return undefined;
  }
  datasets() {
    return [];
  }
}

const byNumericId = (a: string, b: string) => {
  const d = Number(a) - Number(b);
  return Number.isNaN(d) || d === 0 ? (a < b ? -1 : a > b ? 1 : 0) : d;
};

/**
 * The tracking service: MLflow's tracking API as methods that take the REST request JSON
 * (typed for in-process callers, and validated here all the same, so they get the checks HTTP
 * gets) and return the REST response object. Errors are TrackingErrors with MLflow's codes:
 * RESOURCE_DOES_NOT_EXIST for unknown ids and names, INVALID_PARAMETER_VALUE for bad input. Every write records the principal; lifecycle changes go to the audit log.
 */
export class TrackingService {
  private readonly experiments: ExperimentStore;
  private readonly runs: RunStore;
  private readonly history: MetricHistoryStore;
  private defaultReady?: Promise<void>;

  constructor(private readonly deps: TrackingDeps) {
    const now = () => deps.clock.now();
    this.experiments = new ExperimentStore(deps.store, now);
    this.runs = new RunStore(deps.store);
    this.history = new MetricHistoryStore(deps.store, now);
  }

  private now(): number {
    return this.deps.clock.now();
  }

  /** Refuses (403, audited) a change to a run that a pending or approved promotion relies on. */
  private async assertNotFrozen(runId: string, what: string): Promise<void> {
    const reason = await this.deps.frozen?.isFrozen(runId);
    if (!reason) return;
    await this.deps.audit.append({
      action: "tracking.run.write_refused",
      resource: `run:${runId}`,
      state: { write: what, reason },
    });
    throw new TrackingError("PERMISSION_DENIED", `${what} refused: ${reason}`);
  }

  /** Where a new experiment's artifacts go: S3 in AWS, the artifact proxy scheme locally. */
  artifactLocationFor(experimentId: string): string {
    const root = this.deps.config.artifactRoot;
    return root.startsWith("s3://")
      ? `${root.replace(/\/+$/, "")}/${experimentId}`
      : `mlflow-artifacts:/${experimentId}`;
  }

  /** Creates the Default experiment "0" on first use. */
  ensureDefaultExperiment(): Promise<void> {
    this.defaultReady ??= this.experiments
      .ensureDefault(this.artifactLocationFor(DEFAULT_EXPERIMENT_ID))
      .catch((e) => {
        this.defaultReady = undefined;
        throw e;
      });
    return this.defaultReady;
  }

  // ---- experiments ----------------------------------------------------------------------------

  async createExperiment(r: CreateExperimentRequest): Promise<{ experiment_id: string }> {
    const name = validateExperimentName(r.name);
    const tags: Record<string, string> = {};
    for (const t of r.tags ?? []) {
      validateExperimentTag(t.key, t.value ?? "");
      tags[t.key] = t.value ?? "";
    }
    if (r.artifact_location) validateLength("artifact_location", r.artifact_location, 2000);
    await this.ensureDefaultExperiment();
    const id = await this.experiments.nextId();
    const t = this.now();
    const rec: ExperimentRecord = {
      experimentId: id,
      name,
      artifactLocation: r.artifact_location || this.artifactLocationFor(id),
      lifecycleStage: "active",
      creationTime: t,
      lastUpdateTime: t,
      tags,
    };
    await this.experiments.create(rec);
    await this.deps.audit.append({
      action: "tracking.experiment.create",
      resource: `experiment:${id}`,
      state: rec,
    });
    return { experiment_id: id };
  }

  async getExperiment(id: string): Promise<{ experiment: Experiment }> {
    const { experiment_id } = parseWith(experimentIdRequest, { experiment_id: id });
    if (experiment_id === DEFAULT_EXPERIMENT_ID) await this.ensureDefaultExperiment();
    return { experiment: experimentJson(await this.experiments.mustGet(experiment_id)) };
  }

  async getExperimentByName(name: string): Promise<{ experiment: Experiment }> {
    const { experiment_name } = parseWith(getByNameRequest, { experiment_name: name });
    await this.ensureDefaultExperiment();
    const rec = await this.experiments.getByName(experiment_name);
    if (!rec) throw missing(`Could not find experiment with name '${experiment_name}'`);
    return { experiment: experimentJson(rec) };
  }

  async searchExperiments(
    r: SearchExperimentsRequest,
  ): Promise<{ experiments?: Experiment[]; next_page_token?: string }> {
    const max = validateMaxResults(r.max_results, LIMITS.defaultSearchResults, LIMITS.maxSearchResults);
    const clauses = parseFilter(r.filter, EXPERIMENT_SEARCH);
    const orderings = parseOrderBy(r.order_by, EXPERIMENT_SEARCH);
    const view = r.view_type ?? "ACTIVE_ONLY";
    const query = JSON.stringify([r.filter ?? "", r.order_by ?? [], view]);
    const offset = decodePageToken(r.page_token, query);
    await this.ensureDefaultExperiment();
    const defaults: OrderBy[] = orderings.length
      ? []
      : [{ entity: "attribute", key: "creation_time", ascending: false }];
    const matched = (await this.experiments.list())
      .filter((e) => lifecycleVisible(e.lifecycleStage, view))
      .map((e) => new ExperimentView(e))
      .filter((v) => matchesAll(v, clauses))
      .sort(
        orderComparator([...orderings, ...defaults], (a, b) =>
          byNumericId(a.rec.experimentId, b.rec.experimentId),
        ),
      );
    const page = matched.slice(offset, offset + max);
    return {
      experiments: page.length ? page.map((v) => experimentJson(v.rec)) : undefined,
      next_page_token: offset + max < matched.length ? encodePageToken(offset + max, query) : undefined,
    };
  }

  async updateExperiment(r: UpdateExperimentRequest): Promise<Record<string, never>> {
    if (r.new_name === undefined) return {};
    const name = validateExperimentName(r.new_name);
    const before = await this.experiments.mustGet(r.experiment_id);
    const rec = await this.experiments.rename(r.experiment_id, name);
    await this.deps.audit.append({
      action: "tracking.experiment.rename",
      resource: `experiment:${r.experiment_id}`,
      state: { from: before.name, to: rec.name },
    });
    return {};
  }

  async deleteExperiment(id: string): Promise<Record<string, never>> {
    return this.setExperimentLifecycle(id, "deleted");
  }

  async restoreExperiment(id: string): Promise<Record<string, never>> {
    return this.setExperimentLifecycle(id, "active");
  }

  /** Deleting an experiment deletes its active runs too, and restoring restores them (as MLflow's SQL store does). */
  private async setExperimentLifecycle(
    id: string,
    stage: "active" | "deleted",
  ): Promise<Record<string, never>> {
    const { experiment_id } = parseWith(experimentIdRequest, { experiment_id: id });
    await this.experiments.setLifecycle(experiment_id, stage);
    const runs = await this.runs.listByExperiment(experiment_id);
    const from = stage === "deleted" ? "active" : "deleted";
    for (const run of runs.filter((x) => x.lifecycleStage === from)) {
      await this.runs.mutate(run.runId, (rec) => {
        if (rec.lifecycleStage !== from) return false;
        this.applyLifecycle(rec, stage);
      });
    }
    await this.deps.audit.append({
      action: stage === "deleted" ? "tracking.experiment.delete" : "tracking.experiment.restore",
      resource: `experiment:${experiment_id}`,
      state: { lifecycleStage: stage, runs: runs.filter((x) => x.lifecycleStage === from).length },
    });
    return {};
  }

  async setExperimentTag(r: SetExperimentTagRequest): Promise<Record<string, never>> {
    validateExperimentTag(r.key, r.value);
    await this.experiments.updateTag(r.experiment_id, r.key, r.value);
    return {};
  }

  async deleteExperimentTag(r: DeleteExperimentTagRequest): Promise<Record<string, never>> {
    await this.experiments.updateTag(r.experiment_id, r.key, undefined);
    return {};
  }

  // ---- runs -----------------------------------------------------------------------------------

  async createRun(r: CreateRunRequest): Promise<{ run: Run }> {
    const experimentId = r.experiment_id || DEFAULT_EXPERIMENT_ID;
    const tags: Record<string, string> = {};
    for (const t of r.tags ?? []) {
      validateTag(t.key, t.value ?? "");
      tags[t.key] = t.value ?? "";
    }
    const tagName = tags[RUN_NAME_TAG];
    if (r.run_name && tagName !== undefined && tagName !== r.run_name) {
      throw invalidParam(
        `Both 'run_name' argument and '${RUN_NAME_TAG}' tag are specified, but with different values ` +
          `(run_name='${r.run_name}', ${RUN_NAME_TAG}='${tagName}').`,
      );
    }
    const runName = r.run_name || tagName || generateRunName();
    validateLength("Run name", runName, LIMITS.maxRunNameLength);
    tags[RUN_NAME_TAG] = runName;
    const userId = r.user_id || tags[USER_TAG] || currentPrincipal();
    tags[USER_TAG] ??= userId;
    if (experimentId === DEFAULT_EXPERIMENT_ID) await this.ensureDefaultExperiment();
    const exp = await this.experiments.mustGet(experimentId);
    if (exp.lifecycleStage !== "active") {
      throw invalidParam(
        `The experiment ${experimentId} must be in the 'active' state. Current state is ${exp.lifecycleStage}.`,
      );
    }
    const runId = newId();
    const rec: RunRecord = {
      runId,
      experimentId,
      runName,
      userId,
      status: "RUNNING",
      startTime: r.start_time ?? this.now(),
      artifactUri: `${exp.artifactLocation.replace(/\/+$/, "")}/${runId}/artifacts`,
      lifecycleStage: "active",
      params: {},
      tags,
      metrics: {},
      inputs: {},
      version: 0,
      createdBy: currentPrincipal(),
    };
    await this.runs.create(rec);
    await this.deps.audit.append({
      action: "tracking.run.create",
      resource: `run:${runId}`,
      state: { experimentId, runName, userId, status: rec.status },
    });
    return { run: runJson(rec) };
  }

  async getRun(runId: string): Promise<{ run: Run }> {
    const id = requireRunId(parseWith(runIdRequest, { run_id: runId }));
    return { run: runJson(await this.runs.mustGet(id)) };
  }

  async updateRun(r: UpdateRunRequest): Promise<{ run_info: RunInfo }> {
    const runId = requireRunId(r);
    if (r.run_name !== undefined) validateLength("Run name", r.run_name, LIMITS.maxRunNameLength);
    await this.assertNotFrozen(runId, "updating the run");
    const rec = await this.runs.mutate(runId, (rec) => {
      mustBeActive(rec);
      if (r.status) rec.status = r.status;
      if (r.end_time !== undefined) rec.endTime = r.end_time;
      if (r.run_name) {
        rec.runName = r.run_name;
        rec.tags[RUN_NAME_TAG] = r.run_name;
      }
    });
    await this.deps.audit.append({
      action: "tracking.run.update",
      resource: `run:${runId}`,
      state: { status: rec.status, endTime: rec.endTime, runName: rec.runName },
    });
    return { run_info: runInfoJson(rec) };
  }

  async deleteRun(runId: string): Promise<Record<string, never>> {
    return this.setRunLifecycle(runId, "deleted");
  }

  async restoreRun(runId: string): Promise<Record<string, never>> {
    return this.setRunLifecycle(runId, "active");
  }

  private applyLifecycle(rec: RunRecord, stage: "active" | "deleted"): void {
    rec.lifecycleStage = stage;
    rec.deletedTime = stage === "deleted" ? this.now() : undefined;
  }

  private async setRunLifecycle(runId: string, stage: "active" | "deleted"): Promise<Record<string, never>> {
    const id = requireRunId(parseWith(runIdRequest, { run_id: runId }));
    if (stage === "deleted") await this.assertNotFrozen(id, "deleting the run");
    await this.runs.mutate(id, (rec) => this.applyLifecycle(rec, stage));
    await this.deps.audit.append({
      action: stage === "deleted" ? "tracking.run.delete" : "tracking.run.restore",
      resource: `run:${id}`,
      state: { lifecycleStage: stage },
    });
    return {};
  }

  // ---- logging --------------------------------------------------------------------------------

  /** One metric point: the hot path, one conditional update and one put in parallel, no read. */
  async logMetric(r: LogMetricRequest): Promise<Record<string, never>> {
    const runId = requireRunId(r);
    validateKey("Metric", r.key);
    const step = r.step ?? 0;
    validateStep(step, r.timestamp);
    const v = encodeValue(r.value);
    await this.assertNotFrozen(runId, "logging a metric");
    // The point and the latest value are written in parallel (one round trip, not two); if the
    // run turns out to be missing or deleted, the point is taken back before answering.
    const [latest, appended] = await Promise.allSettled([
      this.runs.setLatestMetric(runId, r.key, latestMetric(v, r.timestamp, step)),
      this.history.append(runId, new Map([[r.key, [[step, r.timestamp, v]]]])),
    ]);
    if (appended.status === "rejected") throw appended.reason;
    const written = appended.value;
    if (latest.status === "rejected") {
      // Nothing half-written: a point whose latest value could not be recorded is taken back.
      await this.history.remove(written);
      throw latest.reason;
    }
    const outcome = latest.value;
    if (outcome === "missing" || outcome === "inactive") {
      await this.history.remove(written);
      if (outcome === "missing") throw missing(`Run with id=${runId} not found`);
      throw invalidParam(`The run ${runId} must be in the 'active' state. Current state is deleted.`);
    }
    await this.deps.audit.append({
      action: "tracking.run.log",
      resource: `run:${runId}`,
      state: { metrics: { [r.key]: v } },
    });
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
    await this.assertNotFrozen(runId, "deleting a tag");
    await this.runs.mutate(runId, (rec) => {
      mustBeActive(rec);
      if (!(r.key in rec.tags)) throw missing(`No tag with name: ${r.key} in run with id ${runId}`);
      delete rec.tags[r.key];
    });
    await this.deps.audit.append({
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

    await this.assertNotFrozen(runId, "logging metrics, params or tags");
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
      this.runs.log(runId, { params, tags, metrics: latest }),
      this.history.append(runId, byKey),
    ]);
    if (logged.status === "rejected") {
      if (written.status === "fulfilled") await this.history.remove(written.value);
      throw logged.reason;
    }
    if (written.status === "rejected") throw written.reason;
    // One event per request, however many values it logged: the latest value per metric key.
    await this.deps.audit.append({
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
    const datasets = r.datasets ?? [];
    if (datasets.length > LIMITS.maxDatasetInputsPerCall) {
      throw invalidParam(
        `A log-inputs request can contain at most ${LIMITS.maxDatasetInputsPerCall} datasets.`,
      );
    }
    for (const d of datasets) for (const t of d.tags ?? []) validateTag(t.key, t.value);
    await this.assertNotFrozen(runId, "logging inputs");
    await this.runs.mutate(runId, (rec) => {
      mustBeActive(rec);
      let changed = false;
      for (const d of datasets) {
        // The same dataset logged twice to a run is one input, as in MLflow.
        const id = digest([d.dataset.name, d.dataset.digest]).slice(0, 32);
        if (rec.inputs[id]) continue;
        rec.inputs[id] = { seq: Object.keys(rec.inputs).length, dataset: d.dataset, tags: d.tags };
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
    await this.assertNotFrozen(runId, "logging a model");
    await this.runs.mutate(runId, (rec) => {
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

  // ---- search and reads -----------------------------------------------------------------------

  async searchRuns(r: SearchRunsRequest): Promise<{ runs?: Run[]; next_page_token?: string }> {
    const max = validateMaxResults(r.max_results, LIMITS.defaultSearchResults, LIMITS.maxSearchResults);
    const clauses = parseFilter(r.filter, RUN_SEARCH);
    const orderings = parseOrderBy(r.order_by, RUN_SEARCH);
    const view = r.run_view_type ?? "ACTIVE_ONLY";
    const experimentIds = [...new Set(r.experiment_ids ?? [])];
    const query = JSON.stringify([experimentIds, r.filter ?? "", r.order_by ?? [], view]);
    const offset = decodePageToken(r.page_token, query);
    const lists = await Promise.all(experimentIds.map((id) => this.runs.listByExperiment(id)));
    const tieBreak: OrderBy[] = [{ entity: "attribute", key: "start_time", ascending: false }];
    const matched = lists
      .flat()
      .filter((rec) => lifecycleVisible(rec.lifecycleStage, view))
      .map((rec) => new RunView(rec))
      .filter((v) => matchesAll(v, clauses))
      .sort(
        orderComparator([...orderings, ...tieBreak], (a, b) =>
          a.rec.runId < b.rec.runId ? -1 : a.rec.runId > b.rec.runId ? 1 : 0,
        ),
      );
    const page = matched.slice(offset, offset + max);
    return {
      runs: page.length ? page.map((v) => runJson(v.rec)) : undefined,
      next_page_token: offset + max < matched.length ? encodePageToken(offset + max, query) : undefined,
    };
  }

  async getMetricHistory(
    r: GetMetricHistoryRequest,
  ): Promise<{ metrics?: Metric[]; next_page_token?: string }> {
    const runId = requireRunId(r);
    await this.runs.mustGet(runId);
    const points = await this.history.read(runId, r.metric_key);
    const query = JSON.stringify([runId, r.metric_key]);
    const offset = decodePageToken(r.page_token, query);
    const max =
      r.max_results === undefined
        ? points.length
        : validateMaxResults(r.max_results, 0, Number.MAX_SAFE_INTEGER);
    const page = points.slice(offset, offset + max);
    return {
      metrics: page.length
        ? page.map(([s, t, v]) => ({ key: r.metric_key, value: jsonValue(v), timestamp: t, step: s }))
        : undefined,
      next_page_token: offset + max < points.length ? encodePageToken(offset + max, query) : undefined,
    };
  }

  /**
   * Points of one metric for several runs within a step range, sampled to at most
   * `max_results` distinct steps per run (always keeping the first and last step).
   */
  async getMetricHistoryBulkInterval(
    r: GetMetricHistoryBulkIntervalRequest,
  ): Promise<{ metrics?: Array<Metric & { run_id: string }> }> {
    if (r.run_ids.length === 0)
      throw invalidParam("GetMetricHistoryBulkInterval request must specify at least one run_id.");
    if (r.run_ids.length > LIMITS.maxBulkIntervalRuns) {
      throw invalidParam(
        `GetMetricHistoryBulkInterval request cannot specify more than ${LIMITS.maxBulkIntervalRuns} run_ids.`,
      );
    }
    const max = validateMaxResults(
      r.max_results,
      LIMITS.defaultBulkIntervalResults,
      LIMITS.maxBulkIntervalResults,
    );
    const start = r.start_step ?? Number.MIN_SAFE_INTEGER;
    const end = r.end_step ?? Number.MAX_SAFE_INTEGER;
    if (start > end) throw invalidParam("end_step must be greater than or equal to start_step.");
    const out: Array<Metric & { run_id: string }> = [];
    for (const runId of [...new Set(r.run_ids)].sort()) {
      await this.runs.mustGet(runId);
      const points = (await this.history.read(runId, r.metric_key)).filter(([s]) => s >= start && s <= end);
      const steps = [...new Set(points.map(([s]) => s))];
      const keep = new Set(sampleEvenly(steps, max));
      for (const [s, t, v] of points) {
        if (keep.has(s))
          out.push({ key: r.metric_key, value: jsonValue(v), timestamp: t, step: s, run_id: runId });
      }
    }
    return { metrics: out.length ? out : undefined };
  }

  /** Direct children of a path under the run's artifact root. */
  async listArtifacts(
    r: ListArtifactsRequest,
  ): Promise<{ root_uri: string; files?: Array<{ path: string; is_dir: boolean; file_size?: number }> }> {
    const runId = requireRunId(r);
    const rec = await this.runs.mustGet(runId);
    const path = (r.path ?? "").replace(/^\/+|\/+$/g, "");
    if (path.split("/").some((seg) => seg === "..")) throw invalidParam(`Invalid artifact path '${r.path}'`);
    const root = `${rec.experimentId}/${rec.runId}/artifacts`;
    const entries = await this.deps.artifacts.list(path ? `${root}/${path}` : root);
    const files = entries.map((e) => ({
      path: e.path.slice(root.length + 1),
      is_dir: e.isDir,
      file_size: e.isDir ? undefined : e.size,
    }));
    return { root_uri: rec.artifactUri, files: files.length ? files : undefined };
  }
}

/** Up to `max` items spread evenly over a sorted list, first and last included. */
function sampleEvenly<T>(sorted: T[], max: number): T[] {
  if (sorted.length <= max) return sorted;
  if (max === 1) return [sorted[0]];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(sorted[Math.round((i * (sorted.length - 1)) / (max - 1))]);
  return out;
}
