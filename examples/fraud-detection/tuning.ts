import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { defineTuning, intRange, logUniform, uniform } from "@keel/tuning";
import { USER_FEATURES } from "./src/compute-features";

/**
 * Tunes the quickstart's gradient-boosted trees on the point-in-time training set its pipeline
 * wrote: TPE over five parameters, ASHA stopping the laggards on the validation log loss
 * (rungs at 10 and 30 rounds of 90), 30 trials, 4 at a time. Every trial is a nested run under
 * the tuning run in the experiment "tuning/fraud-gbdt"; the best trial's model becomes a new
 * version of "fraud" and its promotion to Production is requested.
 *
 *   npm start                                         # once: the quickstart writes the training set
 *   npx keel tune run examples/fraud-detection/tuning.ts   # with the server stopped (in process on ./.keel)
 */
const dataDir = process.env.KEEL_DATA_DIR ?? ".keel";
const offlineRoot = process.env.KEEL_OFFLINE_ROOT ?? join(dataDir, "offline");

/** The newest training set the quickstart's pipeline wrote (`training_set` step). */
async function latestTrainingSet(): Promise<string> {
  const dir = join(offlineRoot, "outputs", "training-sets");
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith(".parquet"));
  if (!files.length) throw new Error(`no training set under ${dir}: run the quickstart first (npm start)`);
  const dated = await Promise.all(files.map(async (f) => ({ f, t: (await stat(join(dir, f))).mtimeMs })));
  return join(dir, dated.sort((a, b) => b.t - a.t)[0].f);
}

export const fraudTuning = defineTuning({
  name: "fraud-gbdt",
  description: "TPE + ASHA over the fraud model's trees",
  trainStep: {
    trainingSetUri: latestTrainingSet,
    label: "is_fraud",
    features: [...USER_FEATURES],
    // Fixed for every trial; ASHA sets `rounds`, and the trees run every round they are given.
    params: { maxLeaves: 15, earlyStoppingRounds: 0, seed: 7 },
    seed: 7,
  },
  parameters: {
    learningRate: logUniform(0.01, 0.3),
    maxDepth: intRange(2, 8),
    minRowsPerLeaf: intRange(5, 100, { log: true }),
    subsample: uniform(0.5, 1),
    l2: logUniform(1e-3, 10),
  },
  objective: { metric: "valid_auc", goal: "maximize" },
  algorithm: "tpe",
  earlyStopping: {
    rule: "asha",
    metric: "valid_logloss",
    goal: "minimize",
    budgetParam: "rounds",
    minBudget: 10,
    maxBudget: 90,
    reductionFactor: 3,
  },
  maxTrials: 30,
  parallelTrials: 4,
  seed: 7,
  register: { model: "fraud", promoteTo: "Production" },
});
