/**
 * Normalized pointwise mutual information of two trace filters from their counts, as MLflow
 * computes it (mlflow/store/analytics/trace_correlation.py): NaN when either filter matches
 * nothing, -1 when both match but never together, and a smoothed value with Jeffreys' prior.
 */
const JEFFREYS_PRIOR = 0.5;

function npmiCore(n11: number, n10: number, n01: number, n00: number, smoothing: number): number {
  const [a, b, c, d] = [n11, n10, n01, n00].map((n) => n + smoothing);
  const total = a + b + c + d;
  const n1 = a + b;
  const n2 = a + c;
  if (n1 <= 0 || n2 <= 0 || a <= 0) return Number.NaN;
  if (n10 === 0 && n01 === 0 && n00 === 0) return 1;
  const pmi = Math.log(a) + Math.log(total) - (Math.log(n1) + Math.log(n2));
  const npmi = pmi / -(Math.log(a) - Math.log(total));
  return Math.max(-1, Math.min(1, npmi));
}

export function npmiFromCounts(
  joint: number,
  count1: number,
  count2: number,
  total: number,
): { npmi: number; npmiSmoothed: number } {
  const nan = { npmi: Number.NaN, npmiSmoothed: Number.NaN };
  if (total <= 0 || count1 === 0 || count2 === 0) return nan;
  const n10 = count1 - joint;
  const n01 = count2 - joint;
  const n00 = total - count1 - count2 + joint;
  if (Math.min(joint, n10, n01, n00) < 0) return nan;
  return {
    npmi: joint === 0 ? -1 : npmiCore(joint, n10, n01, n00, 0),
    npmiSmoothed: npmiCore(joint, n10, n01, n00, JEFFREYS_PRIOR),
  };
}
