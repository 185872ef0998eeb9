import type { Rng } from "../rng";

/**
 * A one-dimensional Parzen estimator on a bounded interval: a Gaussian per observation plus a
 * broad prior Gaussian, each truncated to [low, high], with Hyperopt's adaptive bandwidths (the
 * distance to the farther neighbour, clipped to [range/min(100, n+1), range]).
 */
export class ParzenEstimator {
  private readonly mus: Float64Array;
  private readonly sigmas: Float64Array;
  private readonly logWeights: Float64Array;
  private readonly logNorms: Float64Array;
  private readonly weights: Float64Array;

  constructor(
    observations: number[],
    private readonly low: number,
    private readonly high: number,
    priorWeight = 1,
  ) {
    const range = high - low;
    const prior = (low + high) / 2;
    const points = [...observations.map((x) => ({ x, prior: false })), { x: prior, prior: true }].sort(
      (a, b) => a.x - b.x || Number(a.prior) - Number(b.prior),
    );
    const n = points.length;
    const minSigma = range / Math.min(100, n);
    this.mus = new Float64Array(n);
    this.sigmas = new Float64Array(n);
    this.weights = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const left = i > 0 ? points[i].x - points[i - 1].x : points[i].x - low;
      const right = i < n - 1 ? points[i + 1].x - points[i].x : high - points[i].x;
      this.mus[i] = points[i].x;
      this.sigmas[i] = points[i].prior ? range : Math.min(range, Math.max(minSigma, left, right));
      this.weights[i] = points[i].prior ? priorWeight : 1;
    }
    let total = 0;
    for (const w of this.weights) total += w;
    this.logWeights = this.weights.map((w) => Math.log(w / total));
    this.logNorms = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const z =
        normCdf((high - this.mus[i]) / this.sigmas[i]) - normCdf((low - this.mus[i]) / this.sigmas[i]);
      this.logNorms[i] = Math.log(Math.max(z, 1e-300)) + Math.log(this.sigmas[i] * Math.sqrt(2 * Math.PI));
    }
  }

  /** A draw from the truncated mixture. */
  sample(rng: Rng): number {
    const i = rng.weighted(this.weights);
    for (let tries = 0; tries < 64; tries++) {
      const x = this.mus[i] + this.sigmas[i] * rng.normal();
      if (x >= this.low && x <= this.high) return x;
    }
    return rng.uniform(this.low, this.high);
  }

  /** log density at x (log-sum-exp over the components). */
  logPdf(x: number): number {
    let max = Number.NEGATIVE_INFINITY;
    const n = this.mus.length;
    const terms = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const z = (x - this.mus[i]) / this.sigmas[i];
      terms[i] = this.logWeights[i] - 0.5 * z * z - this.logNorms[i];
      if (terms[i] > max) max = terms[i];
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(terms[i] - max);
    return max + Math.log(s);
  }
}

/** A categorical estimator: observed counts plus a prior spread evenly over the choices. */
export class CategoricalEstimator {
  readonly probs: number[];
  constructor(counts: number[], priorWeight = 1) {
    const k = counts.length;
    const w = counts.map((c) => c + priorWeight / k);
    const total = w.reduce((a, b) => a + b, 0);
    this.probs = w.map((x) => x / total);
  }
  sample(rng: Rng): number {
    return rng.weighted(this.probs);
  }
  logPdf(i: number): number {
    return Math.log(this.probs[i]);
  }
}

/** Standard normal CDF through erf (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7). */
export function normCdf(z: number): number {
  return 0.5 * (1 + erf(z / Math.SQRT2));
}

function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return sign * y;
}
