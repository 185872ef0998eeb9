import { checkBulkIntervalRequest, sampledSteps } from "./bulk-interval-sampling";
import type { ExperimentRecord } from "./experiment-store";
import { decodeValue, type HistoryPoint, jsonValue } from "./metric-values";
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
   * Points of one metric for several runs, at the steps MLflow's sampling rule picks (see
   * bulk-interval-sampling.ts), every point of each run at those steps. The request is checked
   * before any run is read.
   */
  async getMetricHistoryBulkInterval(
    r: GetMetricHistoryBulkIntervalRequest,
  ): Promise<{ metrics?: Array<Metric & { run_id: string }> }> {
    const range = { start: r.start_step, end: r.end_step };
    const max = checkBulkIntervalRequest(r.run_ids, r.metric_key, r.max_results, range);
    // MLflow answers the runs in the order the request names them.
    const runIds = [...new Set(r.run_ids)];
    const histories: HistoryPoint[][] = [];
    for (const runId of runIds) {
      await this.ctx.runs.mustGet(runId);
      histories.push(await this.ctx.history.read(runId, r.metric_key));
    }
    const steps = new Set(
      sampledSteps(
        histories.map((h) => h.map(([s]) => s)),
        max,
        range,
      ),
    );
    const out: Array<Metric & { run_id: string }> = [];
    runIds.forEach((runId, i) => {
      const picked = histories[i].filter(([s]) => steps.has(s)).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      for (const [s, t, v] of picked)
        out.push({ key: r.metric_key, value: jsonValue(v), timestamp: t, step: s, run_id: runId });
    });
    return { metrics: out.length ? out : undefined };
  }
}
