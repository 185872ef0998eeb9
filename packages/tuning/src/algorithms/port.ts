import type { Params, Space } from "../space";

/** Where a trial stands; COMPLETED and EARLY_STOPPED trials carry an objective value. */
export type TrialStatus = "PENDING" | "RUNNING" | "COMPLETED" | "EARLY_STOPPED" | "FAILED" | "STOPPED";

/** What search sees of a trial: its parameters and, once known, its loss (the objective, minimized). */
export interface Observation {
  number: number;
  params: Params;
  status: TrialStatus;
  /** The objective oriented so that lower is better (a maximized metric negated). */
  loss?: number;
}

export interface SuggestRequest {
  space: Space;
  /** Every trial so far, finished or not (pending ones tell search what is already being tried). */
  history: Observation[];
  /** Trial numbers to suggest for, in order (their suggestions depend only on seed, number and history). */
  numbers: number[];
  seed: number;
}

/**
 * The search algorithm port: grid, random, TPE, and the samplers under ASHA/Hyperband all
 * answer it, and `tests/tuning/algorithms.test.ts` runs one shared suite over every adapter.
 * An algorithm is a pure function of its request: same seed, numbers and history, same answer.
 * It may return fewer suggestions than asked (a grid that is exhausted).
 */
export interface SearchAlgorithm {
  readonly name: string;
  suggest(req: SuggestRequest): Params[];
}
