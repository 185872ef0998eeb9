import type { ArtifactStore } from "@keel/artifacts";
import type { Logger, TrackingRunWriter } from "@keel/core";
import type { TrackingLogger } from "@keel/train";

/**
 * The part of `@keel/tracking`'s TrackingService tuning uses (MLflow request shapes), declared
 * here so tuning depends on behaviour, not on the tracking package.
 */
export interface TuningTrackingApi extends TrackingRunWriter {
  getRun(runId: string): Promise<{ run: { info: { artifact_uri?: string; experiment_id: string } } }>;
}

export const TUNING_TAGS = {
  parent: "mlflow.parentRunId",
  tuning: "keel.tuning",
  trial: "keel.tuning.trial",
  status: "keel.tuning.status",
  bestValue: "keel.tuning.best_value",
  bestTrial: "keel.tuning.best_trial",
  bestParams: "keel.tuning.best_params",
  bestRun: "keel.tuning.best_run_id",
  trialsPrefix: "keel.tuning.trials.",
  /** When the trial's training began and ended (epoch ms) and on which thread: parallelism is visible. */
  trainStarted: "keel.tuning.train_started_ms",
  trainEnded: "keel.tuning.train_ended_ms",
  trainThread: "keel.tuning.train_thread",
} as const;

export const SUMMARY_ARTIFACT = "tuning/summary.json";

/**
 * Tuning's view of experiment tracking: the tuning run, a nested run per trial attempt
 * (mlflow.parentRunId), intermediate metrics by step, and artifacts written beside the run's
 * other files. Mirroring failures are logged; they never fail a trial.
 */
export class TuningTracking {
  constructor(
    private readonly api: TuningTrackingApi,
    private readonly artifacts: ArtifactStore,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  async experimentId(name: string): Promise<string> {
    try {
      return (await this.api.getExperimentByName(name)).experiment.experiment_id;
    } catch (e) {
      if ((e as { code?: string }).code !== "RESOURCE_DOES_NOT_EXIST") throw e;
      try {
        return (await this.api.createExperiment({ name })).experiment_id;
      } catch (again) {
        if ((again as { code?: string }).code !== "RESOURCE_ALREADY_EXISTS") throw again;
        return (await this.api.getExperimentByName(name)).experiment.experiment_id;
      }
    }
  }

  async createRun(experimentId: string, runName: string, tags: Record<string, string>): Promise<string> {
    const { run } = await this.api.createRun({
      experiment_id: experimentId,
      run_name: runName,
      start_time: this.clock(),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return run.info.run_id;
  }

  async record(
    runId: string,
    d: {
      params?: Record<string, unknown>;
      metrics?: Array<[string, number, number]>;
      tags?: Record<string, string>;
    },
  ): Promise<void> {
    await this.guard(async () => {
      const now = this.clock();
      const metrics = (d.metrics ?? []).map(([key, value, step]) => ({ key, value, step, timestamp: now }));
      const params = Object.entries(d.params ?? {}).map(([key, v]) => ({
        key,
        value: typeof v === "string" ? v : JSON.stringify(v),
      }));
      const tags = Object.entries(d.tags ?? {}).map(([key, value]) => ({ key, value }));
      // MLflow's per-request limits: 1000 metrics, 100 params, 100 tags.
      for (let i = 0; i < metrics.length; i += 1000)
        await this.api.logBatch({ run_id: runId, metrics: metrics.slice(i, i + 1000) });
      for (let i = 0; i < params.length; i += 100)
        await this.api.logBatch({ run_id: runId, params: params.slice(i, i + 100) });
      for (let i = 0; i < tags.length; i += 100)
        await this.api.logBatch({ run_id: runId, tags: tags.slice(i, i + 100) });
    });
  }

  async end(runId: string, status: "FINISHED" | "FAILED" | "KILLED"): Promise<void> {
    await this.guard(() => this.api.updateRun({ run_id: runId, status, end_time: this.clock() }));
  }

  async logArtifact(runId: string, path: string, bytes: Uint8Array): Promise<void> {
    const { run } = await this.api.getRun(runId);
    await this.artifacts.put(
      `${this.artifactRoot(run.info.artifact_uri ?? "", run.info.experiment_id, runId)}/${path}`,
      bytes,
    );
  }

  /** Where the run's artifacts live inside the artifact store. */
  private artifactRoot(uri: string, experimentId: string, runId: string): string {
    const proxied = /^mlflow-artifacts:\/+(.*)$/.exec(uri);
    if (proxied) return proxied[1].replace(/\/+$/, "");
    const own = this.artifacts.uri("").replace(/\/+$/, "");
    if (uri.startsWith(`${own}/`)) return uri.slice(own.length + 1).replace(/\/+$/, "");
    return `${experimentId}/${runId}/artifacts`;
  }

  /** A TrackingLogger writing into one run (what the built-in trainer logs through). */
  logger(runId: string): TrackingLogger {
    const metrics: Array<[string, number, number]> = [];
    return {
      logParams: (p) => this.record(runId, { params: p }),
      logMetrics: async (m, step) => {
        for (const [k, v] of Object.entries(m)) metrics.push([k, v, step]);
        if (metrics.length >= 1000) await this.record(runId, { metrics: metrics.splice(0) });
      },
      logArtifact: (path, bytes) => this.logArtifact(runId, path, bytes),
      setTags: (tags) => this.record(runId, { tags }),
      flush: () => this.record(runId, { metrics: metrics.splice(0) }),
    };
  }

  private async guard(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.log.warn("tuning tracking mirror failed", { err: (e as Error).message });
    }
  }
}
