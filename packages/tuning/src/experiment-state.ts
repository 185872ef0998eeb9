import type { Observation } from "./algorithms/port";
import type { TuningSpec } from "./definition";
import type { TrialProgress } from "./stopping/port";
import type { BestTrial, TrialRecord } from "./store";

/** +1 when the objective is minimized, -1 when maximized: loss = sign * value. */
export const lossSign = (spec: Pick<TuningSpec, "objective">) =>
  spec.objective.goal === "maximize" ? -1 : 1;

/** What search sees: losses of finished trials; an early-stopped trial without a value counts as the worst. */
export function observationsOf(trials: Iterable<TrialRecord>, sign: number): Observation[] {
  const list = [...trials];
  const losses = list.filter((t) => t.value !== undefined).map((t) => sign * t.value!);
  const worst = losses.length ? Math.max(...losses) : undefined;
  return list.map((t) => ({
    number: t.number,
    params: t.params,
    status: t.status,
    ...(t.value !== undefined
      ? { loss: sign * t.value }
      : t.status === "EARLY_STOPPED" && worst !== undefined
        ? { loss: worst }
        : {}),
  }));
}

/** The best COMPLETED trial (ties: the lower number). */
export function bestOf(trials: Iterable<TrialRecord>, sign: number): BestTrial | undefined {
  let best: TrialRecord | undefined;
  for (const t of trials) {
    if (t.status !== "COMPLETED" || t.value === undefined) continue;
    if (!best || sign * t.value < sign * best.value! || (t.value === best.value && t.number < best.number))
      best = t;
  }
  return best
    ? {
        number: best.number,
        value: best.value!,
        params: best.params,
        ...(best.trackingRunId ? { trackingRunId: best.trackingRunId } : {}),
        ...(best.modelUri ? { modelUri: best.modelUri } : {}),
      }
    : undefined;
}

/** The early-stopping rule's metric and its orientation (+1: lower is better). */
export function stoppingMetric(spec: Pick<TuningSpec, "objective" | "earlyStopping">): {
  metric: string;
  sign: number;
} {
  const es = spec.earlyStopping;
  const goal = es?.goal ?? (es?.metric ? "minimize" : spec.objective.goal);
  return { metric: es?.metric ?? spec.objective.metric, sign: goal === "maximize" ? -1 : 1 };
}

/** A trial's curve as the stopping rule sees it (lower is better). */
export function progressOf(t: Pick<TrialRecord, "number" | "curve" | "status">, sign: number): TrialProgress {
  return {
    number: t.number,
    curve: t.curve.map(([s, v]) => [s, sign * v]),
    finished: t.status !== "RUNNING",
  };
}

/**
 * Where a running trial reports its rounds (`POST`, answered `{stop}`), relative to Keel's URL: the
 * trainer's `progressUrl`, passed to pipeline trials as the parameter `keelTuningProgress`.
 */
export function progressPath(tuning: string, trial: number, attempt: number): string {
  return `/api/v1/tuning/experiments/${encodeURIComponent(tuning)}/trials/${trial}/progress?attempt=${attempt}`;
}

/** The pipeline parameter that carries a trial's progress path. */
export const PROGRESS_PARAM = "keelTuningProgress";
