import { definePipeline } from "@keel/pipelines";
import { z } from "zod";

/**
 * The example training pipeline: prepare data, plan hyperparameter trials, score them in a
 * map, train the best in a container, evaluate, and let a gate decide between registering
 * the model and reporting why not. Data moves by artifact URI; steps return small JSON.
 *
 *   keel pipeline compile examples/pipelines/training.ts
 *   keel pipeline run examples/pipelines/training.ts --param threshold=0.97
 */
export const training = definePipeline({
  name: "train-fraud",
  description: "Train and gate a fraud model",
  version: "1",
  params: z.object({
    rows: z.coerce.number().int().min(10).max(100_000).default(200),
    learningRates: z.array(z.number().positive()).default([0.3, 0.1, 0.03]),
    threshold: z.coerce.number().min(0).max(1).default(0.8),
    failTraining: z.coerce.boolean().default(false),
    ds: z.string().optional(),
  }),
  schedule: { cron: "0 3 * * *", params: {} },
  steps: [
    {
      name: "prepare",
      kind: "lambda",
      retry: { maxAttempts: 2, intervalSeconds: 1, backoffRate: 2 },
      async handler(ctx) {
        const rows = Array.from(
          { length: ctx.params.rows },
          (_, i) => `${i},${(i * 37) % 100},${i % 7 === 0 ? 1 : 0}`,
        );
        const path = `${ctx.artifactPrefix}/data.csv`;
        await ctx.artifacts.put(path, Buffer.from(`id,amount,label\n${rows.join("\n")}\n`));
        ctx.log(`wrote ${rows.length} rows`);
        return { datasetUri: ctx.artifacts.uri(path), rows: rows.length };
      },
    },
    {
      name: "plan",
      kind: "lambda",
      handler: (ctx) => ({ trials: ctx.params.learningRates.map((lr: number) => ({ lr })) }),
    },
    {
      name: "tune",
      kind: "map",
      dependsOn: ["prepare"],
      over: "plan.trials",
      maxConcurrency: 2,
      run: {
        kind: "lambda",
        handler: (ctx) => {
          const { lr } = ctx.item as { lr: number };
          // A stand-in for a real trial: the score peaks at lr = 0.1.
          return { lr, score: Number((1 - Math.abs(Math.log10(lr) + 1) / 2).toFixed(4)) };
        },
      },
    },
    {
      name: "pick",
      kind: "lambda",
      dependsOn: ["tune"],
      handler: (ctx) => {
        const { results } = ctx.inputs.tune as { results: Array<{ lr: number; score: number }> };
        const best = results.reduce((a, b) => (b.score > a.score ? b : a));
        return { lr: best.lr, score: best.score };
      },
    },
    {
      name: "train",
      kind: "container",
      dependsOn: ["prepare", "pick"],
      image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/keel-examples:train",
      command: ["node", "examples/pipelines/train-container.mjs"],
      cpu: 2,
      memory: 4096,
      gpu: 0,
      timeoutSeconds: 600,
    },
    {
      name: "evaluate",
      kind: "lambda",
      dependsOn: ["train", "pick"],
      handler: (ctx) => {
        const { artifactUri } = ctx.inputs.train as { artifactUri: string };
        const { score } = ctx.inputs.pick as { score: number };
        ctx.log(`evaluating ${artifactUri}`);
        // A stand-in for scoring a holdout set with the trained model.
        const auc = Number((0.45 + 0.5 * score).toFixed(4));
        return { auc, passed: auc >= ctx.params.threshold, modelUri: artifactUri };
      },
    },
    {
      name: "quality",
      kind: "gate",
      condition: "evaluate.passed == true",
      ifTrue: ["register"],
      ifFalse: ["report"],
    },
    {
      name: "register",
      kind: "lambda",
      dependsOn: ["evaluate"],
      handler: (ctx) => ({
        registered: true,
        modelUri: (ctx.inputs.evaluate as { modelUri: string }).modelUri,
      }),
    },
    {
      name: "report",
      kind: "lambda",
      dependsOn: ["evaluate"],
      handler: (ctx) => ({
        registered: false,
        reason: `auc ${(ctx.inputs.evaluate as { auc: number }).auc} below the gate`,
      }),
    },
  ],
  onFailure: {
    kind: "lambda",
    handler: (ctx) => {
      ctx.log(`pipeline failed: ${JSON.stringify(ctx.inputs.error)}`);
      return { notified: true };
    },
  },
});
