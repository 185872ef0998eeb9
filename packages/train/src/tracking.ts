import { ERROR_CODES, type ErrorCode, internalCallHeaders } from "@keel/core";
import { TrainError } from "./errors";

/**
 * Where a training run reports to. Keel's MLflow-compatible tracking server is the real one
 * (`MlflowRestLogger`); anything with these methods will do (the SDK's run object, a test
 * double). Metrics may be buffered: call `flush()` before relying on them being stored.
 */
export interface TrackingLogger {
  /** Records run parameters (values are stringified, as MLflow stores them). */
  logParams(params: Record<string, string | number | boolean>): Promise<void>;
  /** Records metric values at one step (a boosting round, an iteration). */
  logMetrics(metrics: Record<string, number>, step: number): Promise<void>;
  /** Stores a file under the run's artifact root, e.g. "model/model.onnx". */
  logArtifact(path: string, bytes: Uint8Array): Promise<void>;
  setTags(tags: Record<string, string>): Promise<void>;
  /** Sends anything buffered. */
  flush(): Promise<void>;
}

/** MLflow's per-request limits for runs/log-batch. */
const MAX_METRICS = 1000;
const MAX_PARAMS = 100;
const MAX_TAGS = 100;

interface MetricEntry {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface MlflowRunRef {
  trackingUrl: string;
  experimentId: string;
  runId: string;
  headers?: Record<string, string>;
}

/**
 * TrackingLogger over plain `fetch` to the MLflow REST API: `runs/log-batch` for params,
 * metrics and tags (metrics buffered up to the 1000-per-request limit) and the artifact
 * proxy `PUT /api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/<path>`.
 */
export class MlflowRestLogger implements TrackingLogger {
  private metrics: MetricEntry[] = [];
  private readonly base: string;

  constructor(
    readonly run: MlflowRunRef,
    private readonly clock: () => number = Date.now,
  ) {
    this.base = run.trackingUrl.replace(/\/+$/, "");
  }

  /** Creates a run in an experiment and returns a logger for it. */
  static async createRun(
    trackingUrl: string,
    experimentId: string,
    opts: { runName?: string; headers?: Record<string, string> } = {},
  ): Promise<MlflowRestLogger> {
    const base = trackingUrl.replace(/\/+$/, "");
    const body = await call(base, "POST", "/api/2.0/mlflow/runs/create", opts.headers, {
      experiment_id: experimentId,
      start_time: Date.now(),
      ...(opts.runName ? { run_name: opts.runName } : {}),
    });
    const runId = (body as { run?: { info?: { run_id?: string } } }).run?.info?.run_id;
    if (!runId) throw new TrainError("INTERNAL_ERROR", "tracking server: runs/create returned no run id");
    return new MlflowRestLogger({ trackingUrl, experimentId, runId, headers: opts.headers });
  }

  async logParams(params: Record<string, string | number | boolean>): Promise<void> {
    const entries = Object.entries(params).map(([key, value]) => ({ key, value: String(value) }));
    for (let i = 0; i < entries.length; i += MAX_PARAMS)
      await this.batch({ params: entries.slice(i, i + MAX_PARAMS) });
  }

  async logMetrics(metrics: Record<string, number>, step: number): Promise<void> {
    const timestamp = this.clock();
    for (const [key, value] of Object.entries(metrics)) this.metrics.push({ key, value, timestamp, step });
    if (this.metrics.length >= MAX_METRICS) await this.flush();
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    const entries = Object.entries(tags).map(([key, value]) => ({ key, value }));
    for (let i = 0; i < entries.length; i += MAX_TAGS)
      await this.batch({ tags: entries.slice(i, i + MAX_TAGS) });
  }

  async logArtifact(path: string, bytes: Uint8Array): Promise<void> {
    const { experimentId, runId } = this.run;
    const encoded = path.split("/").map(encodeURIComponent).join("/");
    await call(
      this.base,
      "PUT",
      `/api/2.0/mlflow-artifacts/artifacts/${encodeURIComponent(experimentId)}/${encodeURIComponent(runId)}/artifacts/${encoded}`,
      this.run.headers,
      bytes,
    );
  }

  async flush(): Promise<void> {
    while (this.metrics.length > 0) {
      const chunk = this.metrics.slice(0, MAX_METRICS);
      await this.batch({ metrics: chunk });
      this.metrics = this.metrics.slice(chunk.length);
    }
  }

  /** Marks the run finished (or failed) after flushing. */
  async finish(status: "FINISHED" | "FAILED" = "FINISHED"): Promise<void> {
    await this.flush();
    await call(this.base, "POST", "/api/2.0/mlflow/runs/update", this.run.headers, {
      run_id: this.run.runId,
      status,
      end_time: this.clock(),
    });
  }

  private async batch(body: Record<string, unknown>): Promise<void> {
    await call(this.base, "POST", "/api/2.0/mlflow/runs/log-batch", this.run.headers, {
      run_id: this.run.runId,
      ...body,
    });
  }
}

const TRACKING_CALL_TIMEOUT_MS = 120_000;

async function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body: unknown,
): Promise<unknown> {
  const isBytes = body instanceof Uint8Array;
  const send = () =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        "content-type": isBytes ? "application/octet-stream" : "application/json",
        // A step `keel dev` runs is the platform's own work: never shed by its admission control.
        ...internalCallHeaders(),
        ...headers,
      },
      body: isBytes ? body : JSON.stringify(body),
      // A tracking server that stopped answering fails the step instead of hanging it (model bytes included).
      signal: AbortSignal.timeout(TRACKING_CALL_TIMEOUT_MS),
    });
  let res: Response;
  try {
    // A keep-alive socket the server closed while idle (a long synchronous training round can
    // outlast its idle timeout) fails before any answer: sent once more on a new connection, as
    // MLflow's own client retries connection errors.
    res = await send().catch((e) => (connectionLost(e) ? send() : Promise.reject(e)));
  } catch (e) {
    throw new TrainError(
      "TEMPORARILY_UNAVAILABLE",
      `tracking server ${base} unreachable: ${(e as Error).message}${causeOf(e)}`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = {};
  }
  if (!res.ok) {
    const err = json as { error_code?: string; message?: string };
    const code =
      err.error_code && err.error_code in ERROR_CODES ? (err.error_code as ErrorCode) : "INTERNAL_ERROR";
    throw new TrainError(
      code,
      `tracking server: ${method} ${path} answered ${res.status}: ${err.message ?? text}`,
    );
  }
  return json;
}

/** A TrackingLogger that keeps everything in memory (local experiments, tests). */
export class MemoryTrackingLogger implements TrackingLogger {
  readonly params: Record<string, string> = {};
  readonly metrics: MetricEntry[] = [];
  readonly artifacts = new Map<string, Uint8Array>();
  readonly tags: Record<string, string> = {};

  async logParams(params: Record<string, string | number | boolean>): Promise<void> {
    for (const [k, v] of Object.entries(params)) this.params[k] = String(v);
  }
  async logMetrics(metrics: Record<string, number>, step: number): Promise<void> {
    for (const [key, value] of Object.entries(metrics))
      this.metrics.push({ key, value, step, timestamp: Date.now() });
  }
  async logArtifact(path: string, bytes: Uint8Array): Promise<void> {
    this.artifacts.set(path, bytes);
  }
  async setTags(tags: Record<string, string>): Promise<void> {
    Object.assign(this.tags, tags);
  }
  async flush(): Promise<void> {}
}

const LOST_CONNECTION = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);

/** True when fetch failed because the connection went away before an answer (not a timeout). */
function connectionLost(e: unknown): boolean {
  const cause = (e as { cause?: { code?: string } })?.cause;
  return e instanceof TypeError && LOST_CONNECTION.has(cause?.code ?? "");
}

function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  return cause ? ` (${cause.code ?? cause.message})` : "";
}
