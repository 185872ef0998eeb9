import { type BaselineProfile, profileBin } from "@keel/model-format";
import type { Dataset } from "./dataset";
import { Random } from "./random";

export interface ProfileOptions {
  /** Quantile bins per feature (fewer when values repeat). */
  bins?: number;
  sampleSize?: number;
  seed?: number;
}

export function profileDataset(data: Dataset, opts: ProfileOptions = {}): BaselineProfile {
  const bins = opts.bins ?? 10;
  const n = data.label.length;
  const sampleIdx = new Random((opts.seed ?? 0) ^ 0x1b873593).sample(n, opts.sampleSize ?? 1000);
  const features = data.features.map((name, f) => {
    const col = data.columns[f];
    const sorted = Float64Array.from(col).sort();
    const edges: number[] = [];
    for (let k = 1; k < bins; k++) {
      const v = sorted[Math.min(n - 1, Math.floor((k * n) / bins))];
      if ((edges.length === 0 || v > edges[edges.length - 1]) && v < sorted[n - 1]) edges.push(v);
    }
    const counts = new Array<number>(edges.length + 1).fill(0);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      counts[profileBin(edges, col[i])]++;
      sum += col[i];
    }
    const mean = sum / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (col[i] - mean) ** 2;
    const sample = Array.from(sampleIdx, (i) => col[i]).sort((a, b) => a - b);
    return { name, edges, counts, mean, std: Math.sqrt(v / n), min: sorted[0], max: sorted[n - 1], sample };
  });
  return { version: 1, rows: n, features };
}
