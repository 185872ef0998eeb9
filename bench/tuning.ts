/**
 * Hyperparameter search (issue 17): best objective after 20/50/100 trials for random search vs
 * TPE on Branin and Hartmann-6 over 10 seeds; TPE's suggestion latency with 500 finished
 * trials (the algorithm alone, and the AWS controller Lambda's `suggest` reading them from the
 * MetadataStore); and what ASHA saves when tuning the built-in GBDT, at what best objective.
 * Run: npm run bench -- tuning   [--seeds 10] [--gbdt-trials 30]
 *
 * `--user-story` runs the user story instead: the quickstart's tuning definition
 * (examples/fraud-detection/tuning.ts: TPE + ASHA, 30 trials, 4 at a time) on the built-in
 * trainer's worker threads, once with parallelTrials 1 and once with 4, on the quickstart's
 * training set (`--training-set <parquet>`) or a synthetic one with its feature names
 * (`--rows 20000`).
 */
import { writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLogger, systemClock } from "@keel/core";
import { SqliteMetadataStore } from "@keel/metadata";
import { type Dataset, splitDataset, trainModel } from "@keel/train";
import {
  branin,
  defineTuning,
  functionRunner,
  hartmann6,
  intRange,
  logUniform,
  type Observation,
  RandomSearch,
  type SearchAlgorithm,
  type TestFunction,
  TpeSearch,
  TrialStopped,
  TuningController,
  TuningStepController,
  TuningStore,
  trainRunner,
  uniform,
} from "@keel/tuning";
import { parquetWriteBuffer } from "hyparquet-writer";
import { syntheticData } from "../tests/train/synthetic";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "10" },
    "gbdt-trials": { type: "string", default: "30" },
    "user-story": { type: "boolean", default: false },
    "training-set": { type: "string" },
    rows: { type: "string", default: "20000" },
  },
});

if (values["user-story"]) {
  await userStory();
  process.exit(0);
}
const SEEDS = Number(values.seeds);
const GBDT_TRIALS = Number(values["gbdt-trials"]);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];

/** Sequential search: one suggestion at a time, each told the outcome of all before it. */
function search(algo: SearchAlgorithm, fn: TestFunction, n: number, seed: number): number[] {
  const history: Observation[] = [];
  const bestSoFar: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const [p] = algo.suggest({ space: fn.space, history, numbers: [i], seed });
    const loss = fn.f(p as Record<string, number>);
    history.push({ number: i, params: p, status: "COMPLETED", loss });
    best = Math.min(best, loss);
    bestSoFar.push(best);
  }
  return bestSoFar;
}

console.log(`\n## Test functions: best objective (minimized), median [25th-75th] over ${SEEDS} seeds`);
console.log("| function | algorithm | after 20 | after 50 | after 100 | TPE < random's median at 50 |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const fn of [branin, hartmann6]) {
  const results: Record<string, number[][]> = { random: [], tpe: [] };
  for (let seed = 0; seed < SEEDS; seed++) {
    results.random.push(search(new RandomSearch(), fn, 100, seed));
    results.tpe.push(search(new TpeSearch(), fn, 100, seed));
  }
  const randomAt50 = median(results.random.map((r) => r[49]));
  for (const name of ["random", "tpe"]) {
    const cells = [20, 50, 100].map((k) => {
      const xs = results[name].map((r) => r[k - 1]);
      return `${median(xs).toFixed(4)} [${q(xs, 0.25).toFixed(3)}-${q(xs, 0.75).toFixed(3)}]`;
    });
    const beat =
      name === "tpe"
        ? `${results.tpe.filter((r) => r[49] < randomAt50).length}/${SEEDS} seeds; median ${median(results.tpe.map((r) => r[49])) < randomAt50 ? "yes" : "no"}`
        : "-";
    console.log(`| ${fn.name} (min ${fn.minimum}) | ${name} | ${cells.join(" | ")} | ${beat} |`);
  }
}

// Suggestion latency with 500 finished trials.
console.log("\n## TPE suggestion latency with 500 finished trials");
{
  const space = {
    lr: logUniform(1e-4, 1e-1),
    depth: intRange(2, 10),
    subsample: uniform(0.5, 1),
    ...hartmann6.space,
  };
  const history: Observation[] = [];
  const rnd = new RandomSearch();
  for (let i = 0; i < 500; i++) {
    const [p] = rnd.suggest({ space, history, numbers: [i], seed: 1 });
    history.push({
      number: i,
      params: p,
      status: "COMPLETED",
      loss: hartmann6.f(p as Record<string, number>),
    });
  }
  const tpe = new TpeSearch();
  const ms: number[] = [];
  for (let i = 0; i < 3; i++) tpe.suggest({ space, history, numbers: [900 + i], seed: 1 }); // JIT warm-up
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    tpe.suggest({ space, history, numbers: [500 + i], seed: 1 });
    ms.push(performance.now() - t);
  }
  console.log(
    `algorithm alone (9 parameters, 24 candidates each): p50 ${median(ms).toFixed(1)} ms, p95 ${q(ms, 0.95).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms (50 calls after 3 warm-up)`,
  );

  // The controller Lambda's suggest: read 500 trials from the store, suggest, record the suggestion.
  const store = new TuningStore(new SqliteMetadataStore({ path: ":memory:" }));
  const spec = defineTuning({
    name: "latency",
    run: () => ({}),
    parameters: space,
    objective: { metric: "loss", goal: "minimize" },
    algorithm: "tpe",
    maxTrials: 1000,
    parallelTrials: 1,
  }).spec;
  const now = Date.now();
  await store.create({ name: "latency", status: "RUNNING", spec, createdAt: now, updatedAt: now });
  for (const o of history)
    await store.addTrial("latency", {
      number: o.number,
      params: o.params,
      status: "COMPLETED",
      attempts: 1,
      value: o.loss,
      curve: [],
    });
  const step = new TuningStepController(store, systemClock, () => spec);
  const stepMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const { trials } = await step.suggest("latency");
    stepMs.push(performance.now() - t);
    await step.record("latency", [
      { number: trials[0].number as number, attempt: 1, run: { metrics: { loss: 0 } } },
    ]);
  }
  console.log(
    `controller Lambda suggest (SQLite store, 500-520 trials read): p50 ${median(stepMs).toFixed(1)} ms, max ${Math.max(...stepMs).toFixed(1)} ms`,
  );
}

// ASHA on the GBDT.
console.log(`\n## ASHA on the built-in GBDT: ${GBDT_TRIALS} TPE trials, 4 at a time, full budget 81 rounds`);
{
  const data = syntheticData(8000, 8, 5);
  const { train } = splitDataset(data, 0.0001, 1);
  let rounds = 0;
  const log = createLogger("error");
  const fn = async (
    p: Record<string, unknown>,
    ctx: { report(step: number, m: Record<string, number>): boolean },
  ) => {
    const out = await trainModel(
      train,
      { params: { ...p, maxBins: 64, earlyStoppingRounds: 0, seed: 1 }, seed: 1 },
      undefined,
      "bench",
      (round, m) => {
        rounds++;
        if (ctx.report(round + 1, m)) throw new TrialStopped();
      },
    ).catch((e) => {
      if (e instanceof TrialStopped) return undefined;
      throw e;
    });
    return out ? out.metrics : {};
  };
  const asha = {
    rule: "asha" as const,
    metric: "valid_logloss",
    goal: "minimize" as const,
    budgetParam: "rounds",
    minBudget: 3,
    maxBudget: 81,
  };
  for (const [label, es, trialsOf] of [
    ["every trial to 81 rounds", undefined, GBDT_TRIALS],
    ["ASHA (r=3, R=81, eta=3)", asha, GBDT_TRIALS],
    ["ASHA, 3x the trials", asha, 3 * GBDT_TRIALS],
    ["ASHA (r=9, R=81, eta=3)", { ...asha, minBudget: 9 }, GBDT_TRIALS],
  ] as const) {
    for (const seed of [1, 2, 3]) {
      rounds = 0;
      const store = new TuningStore(new SqliteMetadataStore({ path: ":memory:" }));
      const def = defineTuning({
        name: `gbdt-${seed}`,
        run: fn,
        parameters: {
          learningRate: logUniform(0.01, 0.5),
          maxDepth: intRange(2, 8),
          subsample: uniform(0.5, 1),
          l2: logUniform(1e-3, 10),
        },
        objective: { metric: "valid_auc", goal: "maximize" },
        algorithm: { name: "tpe", startupTrials: 8 },
        ...(es ? { earlyStopping: es } : {}),
        maxTrials: trialsOf,
        parallelTrials: 4,
        seed,
      });
      const spec = es ? def.spec : { ...def.spec };
      const runner = functionRunner(es ? def.run! : (p, ctx) => def.run!({ ...p, rounds: 81 }, ctx));
      const t = performance.now();
      const exp = await new TuningController({ store, clock: systemClock, log, pollMs: 10 }).run(spec, {
        runner,
      });
      const secs = (performance.now() - t) / 1000;
      const trials = await store.trials(spec.name);
      const stopped = trials.filter((x) => x.status === "EARLY_STOPPED").length;
      console.log(
        `| ${label} | seed ${seed} | ${trialsOf} trials | ${rounds} rounds (${((rounds / (GBDT_TRIALS * 81)) * 100).toFixed(0)}% of ${GBDT_TRIALS * 81}) | ${secs.toFixed(1)} s | ${stopped} stopped | best valid_auc ${exp.best?.value.toFixed(4)} |`,
      );
    }
  }
}

/** The user story: the quickstart's tuning with parallelTrials 1, then 4, same seed. */
async function userStory(): Promise<void> {
  const { fraudTuning } = await import("../examples/fraud-detection/tuning");
  const { USER_FEATURES } = await import("../examples/fraud-detection/src/compute-features");
  let uri = values["training-set"];
  let source = `the quickstart's training set ${uri}`;
  if (!uri) {
    const n = Number(values.rows);
    const d = syntheticData(n, USER_FEATURES.length, 7);
    const renamed: Dataset = { ...d, features: [...USER_FEATURES] };
    uri = join(tmpdir(), `keel-bench-tuning-${process.pid}.parquet`);
    const bytes = parquetWriteBuffer({
      columnData: [
        ...renamed.features.map((name, f) => ({
          name,
          data: Array.from(renamed.columns[f]),
          type: "DOUBLE" as const,
        })),
        { name: "is_fraud", data: Array.from(renamed.label, (y) => y === 1), type: "BOOLEAN" as const },
      ],
    });
    await writeFile(uri, new Uint8Array(bytes));
    source = `a synthetic training set with the quickstart's ${USER_FEATURES.length} features and label, ${n} rows`;
  }
  const trainStep = { ...fraudTuning.trainStep!, trainingSetUri: uri };
  const s = fraudTuning.spec;
  const es = s.earlyStopping as { minBudget: number; maxBudget: number; reductionFactor: number };
  console.log(
    `\n## User story: ${s.name} (${s.algorithm.name} + ${s.earlyStopping?.rule} r=${es.minBudget} R=${es.maxBudget} eta=${es.reductionFactor}), ${s.maxTrials} trials, on ${source}`,
  );
  console.log(
    `machine: ${availableParallelism()} cores (shared), load average before ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    "| parallelTrials | worker threads | wall time | trials completed | stopped early | failed | best valid_auc | load avg (1 min) after |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  const log = createLogger("error");
  for (const parallel of [1, 4]) {
    const store = new TuningStore(new SqliteMetadataStore({ path: ":memory:" }));
    const spec = { ...s, name: `${s.name}-p${parallel}`, parallelTrials: parallel, register: undefined };
    const runner = trainRunner(trainStep, { parallelTrials: parallel });
    const workers = Math.min(parallel, availableParallelism());
    const t = performance.now();
    const exp = await new TuningController({ store, clock: systemClock, log, pollMs: 20 }).run(spec, {
      runner,
    });
    const secs = (performance.now() - t) / 1000;
    const trials = await store.trials(spec.name);
    const count = (st: string) => trials.filter((x) => x.status === st).length;
    console.log(
      `| ${parallel} | ${workers} | ${secs.toFixed(1)} s | ${count("COMPLETED")} | ${count("EARLY_STOPPED")} | ${count("FAILED")} | ${exp.best?.value.toFixed(4) ?? "-"} | ${loadavg()[0].toFixed(2)} |`,
    );
  }
}
