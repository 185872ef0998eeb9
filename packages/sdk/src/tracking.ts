import type {
  createExperimentRequest,
  createRunRequest,
  DatasetInput,
  Experiment,
  InputOf,
  Metric,
  Run,
  RunInfo,
  RunStatus,
  ViewType,
} from "@keel/contract";
import { isKeelApiError } from "./errors";
import type { HttpTransport } from "./http";

/** A metric as the client returns it: the value is always a JS number (NaN and ±Infinity included). */
export type ClientMetric = Omit<Metric, "value"> & { value: number };
export type ClientRun = Omit<Run, "data"> & {
  data: {
    metrics: ClientMetric[];
    params: Array<{ key: string; value: string }>;
    tags: Array<{ key: string; value: string }>;
  };
};
export interface MetricInput {
  key: string;
  value: number;
  timestamp?: number;
  step?: number;
}
export interface SearchRunsOptions {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
}
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

const API = "/api/2.0/mlflow";

/** JSON cannot carry NaN or ±Infinity as numbers; protobuf JSON's strings can. */
function encodeValue(v: number): number | string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "Infinity";
  if (v === Number.NEGATIVE_INFINITY) return "-Infinity";
  return v;
}

function decodeMetric(m: Metric): ClientMetric {
  const v = m.value;
  const value =
    typeof v === "number"
      ? v
      : v === "Infinity"
        ? Number.POSITIVE_INFINITY
        : v === "-Infinity"
          ? -Infinity
          : Number.NaN;
  return { ...m, value };
}

function decodeRun(r: Run): ClientRun {
  return {
    ...r,
    data: {
      metrics: (r.data.metrics ?? []).map(decodeMetric),
      params: r.data.params ?? [],
      tags: r.data.tags ?? [],
    },
  };
}

/** Typed methods for the MLflow tracking API that Keel serves. */
export class TrackingClient {
  constructor(private readonly http: HttpTransport) {}

  // ---- experiments ----

  async createExperiment(
    name: string,
    opts: Omit<InputOf<typeof createExperimentRequest>, "name"> = {},
  ): Promise<string> {
    const r = await this.http.post<{ experiment_id: string }>(`${API}/experiments/create`, { name, ...opts });
    return r.experiment_id;
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return (
      await this.http.get<{ experiment: Experiment }>(`${API}/experiments/get`, {
        experiment_id: experimentId,
      })
    ).experiment;
  }

  /** The experiment with this name, or undefined when there is none. */
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      const r = await this.http.get<{ experiment: Experiment }>(`${API}/experiments/get-by-name`, {
        experiment_name: name,
      });
      return r.experiment;
    } catch (e) {
      if (isKeelApiError(e, "RESOURCE_DOES_NOT_EXIST")) return undefined;
      throw e;
    }
  }

  /** The id of the experiment with this name, created when missing (like `mlflow.set_experiment`). */
  async ensureExperiment(name: string): Promise<string> {
    const found = await this.getExperimentByName(name);
    if (found) return found.experiment_id;
    try {
      return await this.createExperiment(name);
    } catch (e) {
      // Someone else created it between the two calls.
      if (!isKeelApiError(e, "RESOURCE_ALREADY_EXISTS")) throw e;
      const again = await this.getExperimentByName(name);
      if (!again) throw e;
      return again.experiment_id;
    }
  }

  async searchExperiments(
    opts: {
      filter?: string;
      orderBy?: string[];
      maxResults?: number;
      pageToken?: string;
      viewType?: ViewType;
    } = {},
  ): Promise<Page<Experiment>> {
    const r = await this.http.post<{ experiments?: Experiment[]; next_page_token?: string }>(
      `${API}/experiments/search`,
      {
        filter: opts.filter,
        order_by: opts.orderBy,
        max_results: opts.maxResults,
        page_token: opts.pageToken,
        view_type: opts.viewType,
      },
    );
    return { items: r.experiments ?? [], nextPageToken: r.next_page_token };
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    await this.http.post(`${API}/experiments/update`, { experiment_id: experimentId, new_name: newName });
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    await this.http.post(`${API}/experiments/delete`, { experiment_id: experimentId });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.http.post(`${API}/experiments/restore`, { experiment_id: experimentId });
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.http.post(`${API}/experiments/set-experiment-tag`, {
      experiment_id: experimentId,
      key,
      value,
    });
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    await this.http.post(`${API}/experiments/delete-experiment-tag`, { experiment_id: experimentId, key });
  }

  // ---- runs ----

  async createRun(req: InputOf<typeof createRunRequest> = {}): Promise<ClientRun> {
    return decodeRun((await this.http.post<{ run: Run }>(`${API}/runs/create`, req)).run);
  }

  async getRun(runId: string): Promise<ClientRun> {
    return decodeRun((await this.http.get<{ run: Run }>(`${API}/runs/get`, { run_id: runId })).run);
  }

  async updateRun(
    runId: string,
    change: { status?: RunStatus; endTime?: number; runName?: string },
  ): Promise<RunInfo> {
    const r = await this.http.post<{ run_info: RunInfo }>(`${API}/runs/update`, {
      run_id: runId,
      status: change.status,
      end_time: change.endTime,
      run_name: change.runName,
    });
    return r.run_info;
  }

  /** Marks a run finished (or failed/killed) now, as `mlflow.end_run` does. */
  async endRun(runId: string, status: RunStatus = "FINISHED"): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime: Date.now() });
  }

  async deleteRun(runId: string): Promise<void> {
    await this.http.post(`${API}/runs/delete`, { run_id: runId });
  }

  async restoreRun(runId: string): Promise<void> {
    await this.http.post(`${API}/runs/restore`, { run_id: runId });
  }

  async logMetric(
    runId: string,
    key: string,
    value: number,
    opts: { timestamp?: number; step?: number } = {},
  ): Promise<void> {
    await this.http.post(`${API}/runs/log-metric`, {
      run_id: runId,
      key,
      value: encodeValue(value),
      timestamp: opts.timestamp ?? Date.now(),
      step: opts.step ?? 0,
    });
  }

  async logParam(runId: string, key: string, value: string | number | boolean): Promise<void> {
    await this.http.post(`${API}/runs/log-parameter`, { run_id: runId, key, value: String(value) });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.http.post(`${API}/runs/set-tag`, { run_id: runId, key, value });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.http.post(`${API}/runs/delete-tag`, { run_id: runId, key });
  }

  /** Up to 1000 metrics, 100 params and 100 tags, applied together or not at all. */
  async logBatch(
    runId: string,
    batch: {
      metrics?: MetricInput[];
      params?: Record<string, string | number | boolean>;
      tags?: Record<string, string>;
    },
  ): Promise<void> {
    const now = Date.now();
    await this.http.post(`${API}/runs/log-batch`, {
      run_id: runId,
      metrics: (batch.metrics ?? []).map((m) => ({
        key: m.key,
        value: encodeValue(m.value),
        timestamp: m.timestamp ?? now,
        step: m.step ?? 0,
      })),
      params: Object.entries(batch.params ?? {}).map(([key, value]) => ({ key, value: String(value) })),
      tags: Object.entries(batch.tags ?? {}).map(([key, value]) => ({ key, value })),
    });
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    await this.http.post(`${API}/runs/log-inputs`, { run_id: runId, datasets });
  }

  /** Records a logged model's MLmodel metadata (artifact_path, flavors, utc_time_created, run_id). */
  async logModel(runId: string, model: Record<string, unknown>): Promise<void> {
    await this.http.post(`${API}/runs/log-model`, { run_id: runId, model_json: JSON.stringify(model) });
  }

  async searchRuns(experimentIds: string[], opts: SearchRunsOptions = {}): Promise<Page<ClientRun>> {
    const r = await this.http.post<{ runs?: Run[]; next_page_token?: string }>(`${API}/runs/search`, {
      experiment_ids: experimentIds,
      filter: opts.filter,
      order_by: opts.orderBy,
      max_results: opts.maxResults,
      page_token: opts.pageToken,
      run_view_type: opts.viewType,
    });
    return { items: (r.runs ?? []).map(decodeRun), nextPageToken: r.next_page_token };
  }

  /** One page of a metric's history, ordered by step then timestamp. */
  async getMetricHistory(
    runId: string,
    key: string,
    opts: { maxResults?: number; pageToken?: string } = {},
  ): Promise<Page<ClientMetric>> {
    const r = await this.http.get<{ metrics?: Metric[]; next_page_token?: string }>(
      `${API}/metrics/get-history`,
      {
        run_id: runId,
        metric_key: key,
        max_results: opts.maxResults,
        page_token: opts.pageToken,
      },
    );
    return { items: (r.metrics ?? []).map(decodeMetric), nextPageToken: r.next_page_token };
  }

  /** A metric's whole history, read page by page. */
  async metricHistory(runId: string, key: string, pageSize = 25_000): Promise<ClientMetric[]> {
    const out: ClientMetric[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.getMetricHistory(runId, key, { maxResults: pageSize, pageToken });
      out.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  async listArtifacts(
    runId: string,
    path?: string,
  ): Promise<{ rootUri: string; files: Array<{ path: string; is_dir: boolean; file_size?: number }> }> {
    const r = await this.http.get<{
      root_uri: string;
      files?: Array<{ path: string; is_dir: boolean; file_size?: number }>;
    }>(`${API}/artifacts/list`, { run_id: runId, path });
    return { rootUri: r.root_uri, files: r.files ?? [] };
  }
}
