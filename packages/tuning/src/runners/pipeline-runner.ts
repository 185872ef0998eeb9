import type { Json, PipelineRun, StepRecord } from "@keel/pipelines";
import { PROGRESS_PARAM } from "../experiment-state";
import type { TrialRunner } from "../trial-runner";

/** The part of the PipelineService a pipeline trial uses. */
export interface PipelineRunsApi {
  startRun(name: string, opts: { runId?: string; params?: Record<string, unknown> }): Promise<PipelineRun>;
  getRun(runId: string): Promise<{ run: PipelineRun; steps: StepRecord[] }>;
  stop(runId: string): Promise<PipelineRun>;
}

const DONE = new Set(["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"]);

/** Numeric fields of every step's output as `<step>.<field>` metrics (the objective names one). */
export function stepMetrics(steps: StepRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of steps) {
    const o = s.output as Record<string, Json> | undefined;
    if (!o || typeof o !== "object" || Array.isArray(o) || s.index !== undefined) continue;
    for (const [k, v] of Object.entries(o))
      if (typeof v === "number" && Number.isFinite(v)) out[`${s.step}.${k}`] = v;
    const nested = o.metrics as Record<string, Json> | undefined;
    if (nested && typeof nested === "object" && !Array.isArray(nested))
      for (const [k, v] of Object.entries(nested))
        if (typeof v === "number" && Number.isFinite(v)) out[`${s.step}.metrics.${k}`] = v;
  }
  return out;
}

/**
 * Trials that are pipeline runs: the suggestion laid over the fixed parameters, one run per
 * attempt (id `tune-<tuning>-<trial>-<attempt>`, so a restarted controller finds its runs), the
 * metrics read from the steps' outputs, the run stopped when the trial is. With an early-stopping
 * rule the run also gets `keelTuningProgress`, the path its trainer reports rounds to (the
 * built-in train step's `progressUrl`); a pipeline that wants it declares it as a parameter.
 */
export function pipelineRunner(
  pipeline: string,
  fixed: Record<string, unknown>,
  runs: PipelineRunsApi,
  pollMs = 200,
): TrialRunner {
  return {
    async run(ctx) {
      const runId = `tune-${ctx.tuning}-${ctx.number}-${ctx.attempt}`.slice(0, 80);
      const progress = ctx.progressPath ? { [PROGRESS_PARAM]: ctx.progressPath } : {};
      await runs.startRun(pipeline, { runId, params: { ...fixed, ...ctx.params, ...progress } });
      for (;;) {
        const { run, steps } = await runs.getRun(runId);
        if (DONE.has(run.status)) {
          if (run.status !== "SUCCEEDED")
            throw new Error(
              `pipeline run ${runId} ${run.status}: ${run.error ?? ""} ${run.cause ?? ""}`.trim(),
            );
          const train = steps.find((s) => typeof (s.output as { modelUri?: unknown })?.modelUri === "string");
          const modelUri = (train?.output as { modelUri?: string } | undefined)?.modelUri;
          return { metrics: stepMetrics(steps), ...(modelUri ? { modelUri } : {}) };
        }
        if (ctx.signal.aborted) {
          await runs.stop(runId);
          throw new Error(`pipeline run ${runId} stopped`);
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
  };
}
