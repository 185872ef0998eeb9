import type { Observation } from "./algorithms/port";
import type { TuningSpec } from "./definition";
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
