import type { TrackingLogger } from "@keel/train";
import type { Params } from "./space";

/** What a running trial reports through. */
export interface TrialReporter {
  number: number;
  attempt: number;
  /**
   * Reports intermediate metrics at a step (budget spent: rounds, epochs). Returns true when the
   * early-stopping rule stops the trial: the trial should end now (return or throw TrialStopped).
   */
  report(step: number, metrics: Record<string, number>): boolean;
  /** Aborted when the trial is stopped (early stopping, or the experiment being stopped). */
  readonly signal: AbortSignal;
}

export interface TrialContext extends TrialReporter {
  tuning: string;
  params: Params;
  /** Where the trial reports rounds from outside this process (with an early-stopping rule). */
  progressPath?: string;
  /** The trial's nested tracking run, when tracking is on. */
  trackingRunId?: string;
  logger?: TrackingLogger;
}

export interface TrialResult {
  /** Final metrics; the objective's metric must be among them unless the trial was stopped. */
  metrics: Record<string, number>;
  /** Where the trial's model is (`runs:/<id>/model`), for registering the best one. */
  modelUri?: string;
}

/** Runs one trial: a pipeline run, the built-in trainer, or a function. */
export interface TrialRunner {
  run(ctx: TrialContext): Promise<TrialResult>;
  /** True when the runner logs its own metrics into the trial's run (the controller then does not). */
  readonly logsMetrics?: boolean;
  /** Frees what the runner holds (worker threads); the controller calls it when a run ends. */
  close?(): Promise<void>;
}

/** Thrown by a trial to end itself after `report` said stop. */
export class TrialStopped extends Error {
  constructor() {
    super("trial stopped early");
    this.name = "TrialStopped";
  }
}
