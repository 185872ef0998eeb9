import { profileBin } from "@keel/model-format";

/** Share floor for empty bins, so PSI stays finite (the usual convention). */
export const PSI_EPSILON = 1e-4;

/**
 * Population Stability Index of `values` against baseline bins:
 * sum over bins of (actual% - expected%) * ln(actual% / expected%), shares floored at PSI_EPSILON.
 * Returns the PSI and the current share per bin.
 */
export function psi(
  edges: readonly number[],
  baselineCounts: readonly number[],
  values: ArrayLike<number>,
): { psi: number; shares: number[] } {
  const counts = new Array<number>(baselineCounts.length).fill(0);
  for (let i = 0; i < values.length; i++) counts[profileBin(edges, values[i])]++;
  const total = baselineCounts.reduce((a, b) => a + b, 0);
  let sum = 0;
  const shares = counts.map((c) => c / values.length);
  for (let b = 0; b < counts.length; b++) {
    const e = Math.max(baselineCounts[b] / total, PSI_EPSILON);
    const a = Math.max(shares[b], PSI_EPSILON);
    sum += (a - e) * Math.log(a / e);
  }
  return { psi: sum, shares };
}

/**
 * Two-sample Kolmogorov-Smirnov test: D = sup |F_a(x) - F_b(x)| over both samples' values
 * (ties handled by stepping past equal values together), and the asymptotic p-value
 * Q_KS((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * D) with ne = n*m/(n+m) (Stephens' correction,
 * as in Numerical Recipes' kstwo).
 */
export function ksTwoSample(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { statistic: number; pValue: number } {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  const n = x.length;
  const m = y.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i], y[j]);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = Math.sqrt((n * m) / (n + m));
  return { statistic: d, pValue: kolmogorovQ((en + 0.12 + 0.11 / en) * d) };
}

/** Q_KS(lambda) = 2 * sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2), the Kolmogorov survival function. */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 0.2) return 1; // the series converges slowly there and the value is 1 to 1e-10
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k++) {
    const term = sign * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
    sign = -sign;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const mean = values.length ? s / values.length : 0;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i] - mean) ** 2;
  return { mean, std: values.length ? Math.sqrt(v / values.length) : 0 };
}
