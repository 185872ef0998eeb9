import { trainGbdt } from "./packages/train/src/gbdt";
import { Random } from "./packages/train/src/random";
import { treeShap } from "./packages/train/src/tree-shap";
const rng = new Random(1);
const n = 100000, F = 20;
const cols = Array.from({length: F}, () => Float64Array.from({length: n}, () => rng.next() * 10 - 5));
const label = new Float64Array(n);
for (let i = 0; i < n; i++) label[i] = (cols[0][i] + cols[1][i] * cols[2][i] * 0.3 + Math.sin(cols[3][i]) * 2 + rng.next() * 2 > 1) ? 1 : 0;
const data = { features: cols.map((_, i) => `f${i}`), columns: cols, label };
let t0 = performance.now();
const r = trainGbdt(data, { rounds: 100, earlyStoppingRounds: 0 });
console.log("train ms", performance.now() - t0, r.history.at(-1));
t0 = performance.now();
const x = new Float64Array(F);
for (let i = 0; i < 1000; i++) { for (let f = 0; f < F; f++) x[f] = cols[f][i]; treeShap(r.model, x); }
console.log("shap us/row", (performance.now() - t0) );
