import { badTuning } from "../errors";
import { type StoppingRule, type TrialProgress, valueAt } from "./port";

export interface AshaOptions {
  /** The smallest budget a trial gets before its first rung (r). */
  minBudget: number;
  /** The full budget (R): rungs sit at r, r*eta, r*eta^2, ... below R. */
  maxBudget: number;
  /** Keep the best 1/eta at each rung (default 3). */
  reductionFactor?: number;
  /** Hyperband: brackets with first rungs r, r*eta, ...; trial n joins bracket n mod brackets (default 1: ASHA). */
  brackets?: number;
}

/**
 * Asynchronous successive halving (Li et al. 2020), with Hyperband's brackets as an option.
 * Each trial runs on the full budget and reports its loss as it goes; when it crosses a rung
 * it continues only if its loss there is within the best 1/eta of the losses every trial of its
 * bracket reported at that rung (the best so far while fewer than eta have reached it).
 * Promotions never wait for a rung to fill, so parallel workers are never idle.
 */
export class AshaRule implements StoppingRule {
  readonly name: string;
  readonly maxBudget: number;
  private readonly eta: number;
  private readonly rungs: number[][];

  constructor(o: AshaOptions) {
    this.eta = o.reductionFactor ?? 3;
    const brackets = o.brackets ?? 1;
    if (!(o.minBudget > 0 && o.maxBudget > o.minBudget))
      throw badTuning("earlyStopping: ASHA needs 0 < minBudget < maxBudget");
    if (!(this.eta >= 2)) throw badTuning("earlyStopping: reductionFactor must be at least 2");
    if (!(Number.isInteger(brackets) && brackets >= 1))
      throw badTuning("earlyStopping: brackets must be >= 1");
    this.name = brackets > 1 ? "hyperband" : "asha";
    this.maxBudget = o.maxBudget;
    this.rungs = Array.from({ length: brackets }, (_, s) => {
      const out: number[] = [];
      for (let b = o.minBudget * this.eta ** s; b < o.maxBudget; b *= this.eta) out.push(b);
      return out;
    });
  }

  /** Rung budgets of the bracket trial `n` belongs to. */
  rungsOf(n: number): number[] {
    return this.rungs[n % this.rungs.length];
  }

  shouldStop(trial: TrialProgress, previousStep: number, others: TrialProgress[]): boolean {
    const last = trial.curve.at(-1);
    if (!last) return false;
    const bracket = trial.number % this.rungs.length;
    const peers = others.filter((o) => o.number % this.rungs.length === bracket && o.number !== trial.number);
    for (const rung of this.rungsOf(trial.number)) {
      if (!(previousStep < rung && last[0] >= rung)) continue;
      const mine = valueAt(trial.curve, rung)!;
      const competing = [
        mine,
        ...peers.map((p) => valueAt(p.curve, rung)).filter((v) => v !== undefined),
      ].sort((a, b) => a - b);
      const keep = Math.max(0, Math.floor(competing.length / this.eta) - 1);
      if (mine > competing[keep]) return true;
    }
    return false;
  }
}
