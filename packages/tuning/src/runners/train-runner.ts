import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { KeelError } from "@keel/core";
import { type Dataset, readParquetDataset, trainModel } from "@keel/train";
import type { TrainTrial } from "../definition";
import { type TrialRunner, TrialStopped } from "../trial-runner";

export interface TrainRunnerOptions {
  /** Reads a training set by URI (default: local paths and file:// URIs). */
  readUri?: (uri: string) => Promise<Uint8Array>;
}

async function readLocal(uri: string): Promise<Uint8Array> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith("file://"))
    throw new KeelError(
      "INVALID_PARAMETER_VALUE",
      `cannot read training set '${uri}' here: use a path or file:// URI`,
    );
  return readFile(uri.startsWith("file://") ? fileURLToPath(uri) : uri);
}

/**
 * Trials that train Keel's built-in GBDT (or logistic regression) in process: the training set
 * is read once per experiment; each trial lays its parameters over the fixed ones (a parameter
 * named `algorithm` chooses the trainer), reports every round's validation metrics (step =
 * rounds done) and logs params, per-round metrics, the model and its profile into its nested run.
 */
export function trainRunner(spec: TrainTrial, opts: TrainRunnerOptions = {}): TrialRunner {
  let data: Promise<Dataset> | undefined;
  const load = () => {
    data ??= (async () => {
      const uri = typeof spec.trainingSetUri === "string" ? spec.trainingSetUri : await spec.trainingSetUri();
      const bytes = await (opts.readUri ?? readLocal)(uri);
      return readParquetDataset(bytes, spec.label, spec.features);
    })();
    data.catch(() => {
      data = undefined;
    });
    return data;
  };
  return {
    logsMetrics: true,
    async run(ctx) {
      const dataset = await load();
      const { algorithm, ...params } = { algorithm: spec.algorithm, ...spec.params, ...ctx.params };
      const runId = ctx.trackingRunId ?? `trial-${ctx.number}`;
      const history: Array<Record<string, number>> = [];
      const outcome = await trainModel(
        dataset,
        {
          algorithm: algorithm as "gbdt" | "logistic",
          params,
          validationFraction: spec.validationFraction,
          seed: spec.seed,
        },
        ctx.logger,
        runId,
        (round, metrics) => {
          history.push(metrics);
          if (ctx.signal.aborted || ctx.report(round + 1, metrics)) throw new TrialStopped();
        },
      ).catch(async (e) => {
        // A stopped trial still shows its learning curve, as trainModel logs it for finished ones.
        if (e instanceof TrialStopped && ctx.logger) {
          await ctx.logger.logParams({
            algorithm: String(algorithm),
            ...(params as Record<string, string | number | boolean>),
          });
          for (const [step, m] of history.entries()) await ctx.logger.logMetrics(m, step);
          await ctx.logger.flush();
        }
        throw e;
      });
      return { metrics: outcome.metrics, ...(ctx.trackingRunId ? { modelUri: `runs:/${runId}/model` } : {}) };
    },
  };
}
