import { firstAtLeast } from "@keel/model-format";
import type { Column } from "./dataset";
import { Random } from "./random";

/**
 * Per-feature histogram bins. Every comparison happens on float32 values (`Math.fround`),
 * exactly as ONNX Runtime compares its float input against the float thresholds of an
 * exported TreeEnsemble: a split "bin <= b" is the same test as "fround(x) <= edges[b]".
 */
export interface FeatureBins {
  /** Increasing float32 values; a value v falls in the first bin b with fround(v) <= edges[b], else the last. */
  edges: Float32Array;
}

/** At most this many rows are sorted per feature to find bin edges. */
const EDGE_SAMPLE = 100_000;

export function computeBins(columns: Column[], maxBins: number, seed: number): FeatureBins[] {
  const n = columns[0].length;
  const sampleIdx = n > EDGE_SAMPLE ? new Random(seed ^ 0x2545f491).sample(n, EDGE_SAMPLE) : undefined;
  return columns.map((col) => {
    const m = sampleIdx ? sampleIdx.length : n;
    const vals = new Float32Array(m);
    for (let i = 0; i < m; i++) vals[i] = col[sampleIdx ? sampleIdx[i] : i];
    vals.sort();
    const uniques: number[] = [];
    for (let i = 0; i < m; i++) if (i === 0 || vals[i] !== vals[i - 1]) uniques.push(vals[i]);
    if (uniques.length <= maxBins) return { edges: Float32Array.from(uniques.slice(0, -1)) };
    const edges: number[] = [];
    for (let k = 1; k < maxBins; k++) {
      const v = vals[Math.floor((k * m) / maxBins)];
      // The largest value never becomes an edge: a bin above it would always be empty.
      if ((edges.length === 0 || v > edges[edges.length - 1]) && v < uniques[uniques.length - 1])
        edges.push(v);
    }
    return { edges: Float32Array.from(edges) };
  });
}

/** The bin of one value: the first edge >= fround(v), or edges.length. */
export function binOf(edges: Float32Array, v: number): number {
  return firstAtLeast(edges, Math.fround(v));
}

/** Row-major bin matrix (`rows x features`), one byte per cell. */
export function binRows(columns: Column[], bins: FeatureBins[]): Uint8Array {
  const f = columns.length;
  const n = columns[0].length;
  const out = new Uint8Array(n * f);
  for (let j = 0; j < f; j++) {
    const col = columns[j];
    const edges = bins[j].edges;
    for (let i = 0; i < n; i++) out[i * f + j] = binOf(edges, col[i]);
  }
  return out;
}
