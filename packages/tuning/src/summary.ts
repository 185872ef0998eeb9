import type { ExperimentRecord, TrialRecord } from "./store";

export interface TuningSummary {
  name: string;
  status: string;
  objective: { metric: string; goal: string };
  algorithm: string;
  earlyStopping: string;
  trials: number;
  trialsByStatus: Record<string, number>;
  best?: ExperimentRecord["best"];
  /** Budget steps the trials ran, and what running each to the full budget would have cost. */
  budget?: { used: number; full: number; saved: number };
  trialList: Array<
    Pick<TrialRecord, "number" | "params" | "status" | "value" | "stoppedAt" | "attempts" | "trackingRunId">
  >;
}

/** The experiment's summary: what the tuning run's tags and `tuning/summary.json` hold. */
export function summarize(exp: ExperimentRecord, trials: TrialRecord[]): TuningSummary {
  const byStatus: Record<string, number> = {};
  for (const t of trials) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
  const es = exp.spec.earlyStopping;
  const full =
    es?.rule === "asha" ? es.maxBudget : Math.max(0, ...trials.map((t) => t.curve.at(-1)?.[0] ?? 0));
  const ran = trials.filter((t) => t.curve.length);
  const used = ran.reduce((a, t) => a + (t.curve.at(-1)?.[0] ?? 0), 0);
  return {
    name: exp.name,
    status: exp.status,
    objective: exp.spec.objective,
    algorithm: exp.spec.algorithm.name,
    earlyStopping: es?.rule ?? "none",
    trials: trials.length,
    trialsByStatus: byStatus,
    ...(exp.best ? { best: exp.best } : {}),
    ...(ran.length && full > 0
      ? { budget: { used, full: full * ran.length, saved: 1 - used / (full * ran.length) } }
      : {}),
    trialList: trials.map((t) => ({
      number: t.number,
      params: t.params,
      status: t.status,
      attempts: t.attempts,
      ...(t.value !== undefined ? { value: t.value } : {}),
      ...(t.stoppedAt !== undefined ? { stoppedAt: t.stoppedAt } : {}),
      ...(t.trackingRunId ? { trackingRunId: t.trackingRunId } : {}),
    })),
  };
}
