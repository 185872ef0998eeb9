/** One trial's intermediate reports, oriented so that lower is better, in step order. */
export interface TrialProgress {
  number: number;
  /** [step, loss] pairs with increasing steps; a step is budget spent (rounds, epochs). */
  curve: Array<[number, number]>;
  /** Whether the trial has finished (its curve will not grow). */
  finished: boolean;
}

/**
 * An early-stopping rule: after a trial reports, decide whether it should stop. Pure over the
 * reports (which the controller keeps in the MetadataStore), so a restarted controller decides
 * as the first one would have.
 */
export interface StoppingRule {
  readonly name: string;
  /** `previousStep` is the step of the report before the newest (0 when none). */
  shouldStop(trial: TrialProgress, previousStep: number, others: TrialProgress[]): boolean;
  /** The budget every trial is given (ASHA's maximum), when the rule fixes one. */
  readonly maxBudget?: number;
}

/** The value of a curve at the first report at or after `step`. */
export function valueAt(curve: Array<[number, number]>, step: number): number | undefined {
  for (const [s, v] of curve) if (s >= step) return v;
  return undefined;
}
