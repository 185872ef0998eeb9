/**
 * Built-in training and monitoring on this machine: gradient-boosted trees on 100,000 rows x
 * 20 features (100 rounds), logistic regression on the same data, exact TreeSHAP per row,
 * ONNX Runtime scoring of the exported trees, and the drift computation (PSI + KS for 20
 * features over 100,000 logged rows).
 * Run: node --import tsx bench/train.ts
 */

import { exportOnnx, treeShap } from "@keel/model-format";
import { computeDriftReport, type PredictionLogEntry } from "@keel/monitoring";
import { profileDataset, splitDataset, toRowMajorFloat32, trainGbdt, trainLogistic } from "@keel/train";
import * as ort from "onnxruntime-node";
import { syntheticData } from "../tests/train/synthetic";

const N = 100_000;
const F = 20;
const RUNS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Wall time, and CPU time of this process (less distorted when other jobs share the cores). */
const cpu: number[] = [];
const time = <T>(fn: () => T): [T, number] => {
  const t = performance.now();
  const c = process.cpuUsage();
  const r = fn();
  const used = process.cpuUsage(c);
  cpu.push((used.user + used.system) / 1000);
  return [r, performance.now() - t];
};
const lastCpu = () => `${((cpu.at(-1) ?? 0) / 1000).toFixed(2)} s CPU`;

const data = syntheticData(N, F, 1);
console.log(`data: ${N} rows x ${F} features (Float64Array columns)`);

for (const [label, params] of [
  ["trees, 100 rounds, 31 leaves, depth 6", {}],
  ["trees, 100 rounds, subsample 0.8", { subsample: 0.8 }],
] as const) {
  const ms: number[] = [];
  const cpuMs: number[] = [];
  let model = trainGbdt(data, { rounds: 1 }).model;
  for (let i = 0; i < RUNS; i++) {
    const [r, t] = time(() => trainGbdt(data, { rounds: 100, earlyStoppingRounds: 0, seed: i, ...params }));
    ms.push(t);
    cpuMs.push(cpu.at(-1) ?? 0);
    model = r.model;
  }
  console.log(
    `${label}: median ${(median(ms) / 1000).toFixed(2)} s wall, ${(median(cpuMs) / 1000).toFixed(2)} s CPU (wall runs: ${ms.map((t) => (t / 1000).toFixed(2)).join(", ")})`,
  );
  if (label.includes("subsample")) continue;

  const rows = Array.from({ length: 2000 }, (_, i) => data.columns.map((c) => c[i]));
  const [, shapMs] = time(() => {
    for (const x of rows) treeShap(model, x);
  });
  console.log(
    `TreeSHAP (100 trees): ${((shapMs * 1000) / rows.length).toFixed(0)} us/row wall, ${(((cpu.at(-1) ?? 0) * 1000) / rows.length).toFixed(0)} us/row CPU, over ${rows.length} rows`,
  );

  const session = await ort.InferenceSession.create(exportOnnx(model), { intraOpNumThreads: 1 });
  const batch = 1000;
  const x = new ort.Tensor(
    "float32",
    toRowMajorFloat32(data.columns.map((c) => c.subarray(0, batch) as Float64Array)),
    [batch, F],
  );
  await session.run({ features: x });
  const t = performance.now();
  for (let i = 0; i < 10; i++) await session.run({ features: x });
  console.log(
    `ONNX Runtime, exported trees: ${(((performance.now() - t) / 10 / batch) * 1000).toFixed(2)} us/row at batch ${batch}`,
  );
}

const lr: number[] = [];
for (let i = 0; i < RUNS; i++) lr.push(time(() => trainLogistic(data))[1]);
console.log(
  `logistic regression (Newton): median ${(median(lr) / 1000).toFixed(2)} s wall, last run ${lastCpu()}`,
);

const { train, valid } = splitDataset(data, 0.5, 1);
const baseline = profileDataset(train);
const entries: PredictionLogEntry[] = [];
for (let i = 0; i < valid.label.length; i += 10) {
  entries.push({
    deployment: "bench",
    model: "m",
    version: "1",
    requestId: String(i),
    time: i,
    latencyMs: 1,
    inputs: {
      features: Array.from({ length: Math.min(10, valid.label.length - i) }, (_, k) =>
        valid.columns.map((c) => c[i + k]),
      ),
    },
    outputs: { score: [[0]] },
  });
}
const [report, driftMs] = time(() =>
  computeDriftReport({
    id: "b",
    deployment: "bench",
    baseline,
    entries,
    from: 0,
    to: N,
    createdAt: 0,
    thresholds: { watch: 0.1, drift: 0.25 },
  }),
);
console.log(
  `drift (PSI + KS, ${F} features, ${report.rows} rows): ${driftMs.toFixed(0)} ms wall, ${lastCpu()}, status ${report.status}`,
);
