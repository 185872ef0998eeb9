import { invalidParam } from "./errors";
import type { ExperimentRecord } from "./experiment-store";
import { decodeValue, jsonValue } from "./metric-values";
import { experimentJson, runJson } from "./mlflow-json";
import { decodePageToken, encodePageToken } from "./page-token";
import type { RunRecord } from "./run-store";
import type {
  Experiment,
  GetMetricHistoryBulkIntervalRequest,
  GetMetricHistoryRequest,
  Metric,
  Run,
  SearchExperimentsRequest,
  SearchRunsRequest,
} from "./schemas";
import { matchesAll, orderComparator, type Searchable } from "./search-eval";
import { type OrderBy, parseFilter, parseOrderBy, type SearchTarget } from "./search-grammar";
import { lifecycleVisible, requireRunId, type TrackingContext } from "./tracking-context";
import { LIMITS, validateMaxResults } from "./validation";

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

/** Searching experiments and runs, and reading metric histories. */
export class TrackingSearch {
  constructor(private readonly ctx: TrackingContext) {}

  async searchExperiments(
    r: SearchExperimentsRequest,
  ): Promise<{ experiments?: Experiment[]; next_page_token?: string }> {
    const max = validateMaxResults(r.max_results, LIMITS.defaultSearchResults, LIMITS.maxSearchResults);
    const clauses = parseFilter(r.filter, EXPERIMENT_SEARCH);
    const orderings = parseOrderBy(r.order_by, EXPERIMENT_SEARCH);
    const view = r.view_type ?? "ACTIVE_ONLY";
    const query = JSON.stringify([r.filter ?? "", r.order_by ?? [], view]);
    const offset = decodePageToken(r.page_token, query);
    await this.ctx.ensureDefaultExperiment();
    const defaults: OrderBy[] = orderings.length
      ? []
      : [{ entity: "attribute", key: "creation_time", ascending: false }];
    const matched = (await this.ctx.experiments.list())
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

  // ---- search and reads -----------------------------------------------------------------------

  async searchRuns(r: SearchRunsRequest): Promise<{ runs?: Run[]; next_page_token?: string }> {
    const max = validateMaxResults(r.max_results, LIMITS.defaultSearchResults, LIMITS.maxSearchResults);
    const clauses = parseFilter(r.filter, RUN_SEARCH);
    const orderings = parseOrderBy(r.order_by, RUN_SEARCH);
    const view = r.run_view_type ?? "ACTIVE_ONLY";
    const experimentIds = [...new Set(r.experiment_ids ?? [])];
    const query = JSON.stringify([experimentIds, r.filter ?? "", r.order_by ?? [], view]);
    const offset = decodePageToken(r.page_token, query);
    const lists = await Promise.all(experimentIds.map((id) => this.ctx.runs.listByExperiment(id)));
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
    await this.ctx.runs.mustGet(runId);
    const points = await this.ctx.history.read(runId, r.metric_key);
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
      await this.ctx.runs.mustGet(runId);
      const points = (await this.ctx.history.read(runId, r.metric_key)).filter(
        ([s]) => s >= start && s <= end,
      );
      const steps = [...new Set(points.map(([s]) => s))];
      const keep = new Set(sampleEvenly(steps, max));
      for (const [s, t, v] of points) {
        if (keep.has(s))
          out.push({ key: r.metric_key, value: jsonValue(v), timestamp: t, step: s, run_id: runId });
      }
    }
    return { metrics: out.length ? out : undefined };
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
