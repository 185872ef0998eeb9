import type { Logger, TrackingRunWriter } from "@keel/core";

/**
 * The part of `@keel/tracking`'s TrackingService that pipelines use (MLflow request shapes).
 * Declared here so pipelines depend on behaviour, not on the tracking package's internals.
 */
export interface PipelineTracking extends Omit<TrackingRunWriter, "getExperimentByName"> {
  /** Throws an error with code RESOURCE_DOES_NOT_EXIST when there is none. */
  getExperimentByName(
    name: string,
  ): Promise<{ experiment: { experiment_id: string } } | { experiment_id: string }>;
}

export const TAG = {
  parent: "mlflow.parentRunId",
  pipelineRun: "keel.pipeline.runId",
  pipeline: "keel.pipeline",
  step: "keel.pipeline.step",
} as const;

/**
 * Mirrors pipeline runs into tracking: one run per pipeline run in the experiment
 * "pipeline/<name>", and one nested run per step (tag mlflow.parentRunId), so lineage shows in
 * the MLflow UI and registry. Tracking is a mirror: its failures are logged, never fail a run.
 */
export class TrackingLink {
  constructor(
    private readonly tracking: PipelineTracking,
    private readonly log: Logger,
  ) {}

  private async experimentId(name: string): Promise<string> {
    try {
      const r = await this.tracking.getExperimentByName(name);
      return "experiment" in r ? r.experiment.experiment_id : r.experiment_id;
    } catch (e) {
      if ((e as { code?: string }).code !== "RESOURCE_DOES_NOT_EXIST") throw e;
      try {
        return (await this.tracking.createExperiment({ name })).experiment_id;
      } catch (again) {
        // Another run created it between our read and our create.
        if ((again as { code?: string }).code !== "RESOURCE_ALREADY_EXISTS") throw again;
        const r = await this.tracking.getExperimentByName(name);
        return "experiment" in r ? r.experiment.experiment_id : r.experiment_id;
      }
    }
  }

  /** Creates the pipeline run's tracking run with its parameters. */
  async startPipelineRun(pipeline: string, runId: string, params: Record<string, unknown>, time: number) {
    return this.guard(async () => {
      const experimentId = await this.experimentId(`pipeline/${pipeline}`);
      const { run } = await this.tracking.createRun({
        experiment_id: experimentId,
        run_name: `${pipeline}-${runId.slice(0, 8)}`,
        start_time: time,
        tags: [
          { key: TAG.pipelineRun, value: runId },
          { key: TAG.pipeline, value: pipeline },
        ],
      });
      const flat = Object.entries(params).map(([key, v]) => ({
        key,
        value: typeof v === "string" ? v : JSON.stringify(v),
      }));
      if (flat.length) await this.tracking.logBatch({ run_id: run.info.run_id, params: flat.slice(0, 100) });
      return { experimentId, trackingRunId: run.info.run_id };
    });
  }

  /** Creates a nested run for a step (or one map element). */
  async startStep(p: {
    experimentId: string;
    parentRunId: string;
    pipelineRunId: string;
    step: string;
    index?: number;
    time: number;
  }) {
    return this.guard(async () => {
      const label = p.index === undefined ? p.step : `${p.step}[${p.index}]`;
      const { run } = await this.tracking.createRun({
        experiment_id: p.experimentId,
        run_name: label,
        start_time: p.time,
        tags: [
          { key: TAG.parent, value: p.parentRunId },
          { key: TAG.pipelineRun, value: p.pipelineRunId },
          { key: TAG.step, value: label },
        ],
      });
      return run.info.run_id;
    });
  }

  /** Adds tags to a run (the reproducibility record's summary, say). */
  async tagRun(runId: string, tags: Record<string, string>) {
    await this.guard(() =>
      this.tracking.logBatch({
        run_id: runId,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      }),
    );
  }

  /** Ends a tracking run; numeric top-level fields of an output become metrics. */
  async endRun(
    runId: string,
    status: "FINISHED" | "FAILED" | "KILLED",
    time: number,
    output?: unknown,
    tags: Record<string, string> = {},
  ) {
    await this.guard(async () => {
      const metrics =
        output && typeof output === "object" && !Array.isArray(output)
          ? Object.entries(output)
              .filter(([, v]) => typeof v === "number" && Number.isFinite(v))
              .map(([key, value]) => ({ key, value: value as number, timestamp: time, step: 0 }))
          : [];
      const tagList = Object.entries(tags).map(([key, value]) => ({ key, value }));
      if (metrics.length || tagList.length)
        await this.tracking.logBatch({ run_id: runId, metrics, tags: tagList });
      await this.tracking.updateRun({ run_id: runId, status, end_time: time });
    });
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      this.log.warn("pipeline tracking mirror failed", { err: (e as Error).message });
      return undefined;
    }
  }
}
