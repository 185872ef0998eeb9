import { type Dataset, type TrackingLogger, trainModel } from "@keel/train";
import type { TrainTrial } from "../definition";
import { TrialStopped } from "../trial-runner";

/** What a built-in-trainer trial needs besides the data: plain JSON, so it crosses to a worker. */
export interface TrainTrialJob {
  algorithm: TrainTrial["algorithm"];
  /** The fixed parameters with the trial's suggestion laid over them. */
  params: Record<string, unknown>;
  validationFraction: number;
  seed: number;
  runId: string;
}

/** Lays a trial's parameters over the fixed ones (a parameter named `algorithm` picks the trainer). */
export function trainJob(
  spec: TrainTrial,
  trialParams: Record<string, unknown>,
  runId: string,
): TrainTrialJob {
  const { algorithm, ...params } = { algorithm: spec.algorithm, ...spec.params, ...trialParams };
  return {
    algorithm: algorithm as TrainTrial["algorithm"],
    params,
    validationFraction: spec.validationFraction,
    seed: spec.seed,
    runId,
  };
}

/**
 * Trains one trial: `onRound(step, metrics)` gets every round's validation metrics (step = rounds
 * done) and returns true to stop the trial, which then throws TrialStopped after logging its
 * params and learning curve (trainModel logs those itself for trials that finish). The same code
 * runs in a worker thread and in process.
 */
export async function runTrainTrial(
  dataset: Dataset,
  job: TrainTrialJob,
  logger: TrackingLogger | undefined,
  onRound: (step: number, metrics: Record<string, number>) => boolean,
): Promise<Record<string, number>> {
  const history: Array<Record<string, number>> = [];
  try {
    const outcome = await trainModel(
      dataset,
      {
        algorithm: job.algorithm,
        params: job.params,
        validationFraction: job.validationFraction,
        seed: job.seed,
      },
      logger,
      job.runId,
      (round, metrics) => {
        history.push(metrics);
        if (onRound(round + 1, metrics)) throw new TrialStopped();
      },
    );
    return outcome.metrics;
  } catch (e) {
    if (e instanceof TrialStopped && logger) {
      await logger.logParams({
        algorithm: String(job.algorithm),
        ...(job.params as Record<string, string | number | boolean>),
      });
      for (const [step, m] of history.entries()) await logger.logMetrics(m, step);
      await logger.flush();
    }
    throw e;
  }
}
