import type { StoppingRule, TrialProgress } from "./port";

export interface MedianOptions {
  /** Steps every trial runs before it can be stopped (default 5). */
  warmupSteps?: number;
  /** Other trials that must have reached a step before the rule applies there (default 5). */
  minTrials?: number;
}

/**
 * The median stopping rule (Golovin et al. 2017, Google Vizier; Katib's `medianstop`): a trial
 * is stopped at step t when its best loss so far is worse than the median, over the other
 * trials that reached t, of their running-average loss up to t.
 */
export class MedianStoppingRule implements StoppingRule {
  readonly name = "median";
  private readonly warmup: number;
  private readonly minTrials: number;

  constructor(o: MedianOptions = {}) {
    this.warmup = o.warmupSteps ?? 5;
    this.minTrials = o.minTrials ?? 5;
  }

  shouldStop(trial: TrialProgress, _previousStep: number, others: TrialProgress[]): boolean {
    const last = trial.curve.at(-1);
    if (!last || last[0] < this.warmup) return false;
    const t = last[0];
    const averages: number[] = [];
    for (const o of others) {
      if (o.number === trial.number) continue;
      const upTo = o.curve.filter(([s]) => s <= t);
      if (!upTo.length || o.curve.at(-1)![0] < t) continue;
      averages.push(upTo.reduce((a, [, v]) => a + v, 0) / upTo.length);
    }
    if (averages.length < this.minTrials) return false;
    averages.sort((a, b) => a - b);
    const m = averages.length;
    const median = m % 2 ? averages[(m - 1) / 2] : (averages[m / 2 - 1] + averages[m / 2]) / 2;
    const best = Math.min(...trial.curve.map(([, v]) => v));
    return best > median;
  }
}
