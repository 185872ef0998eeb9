import { type LogisticModel, sigmoid } from "@keel/model-format";
import { z } from "zod";
import { assertBinaryLabels, type Dataset, validateDataset } from "./dataset";
import { TrainError } from "./errors";
import type { IterationCallback } from "./gbdt";

export const logisticParamsSchema = z
  .object({
    /** L2 penalty on the standardised weights (per row of mean loss); the intercept is not penalised. */
    l2: z.number().min(0).default(1e-4),
    maxIterations: z.number().int().min(1).max(1000).default(50),
    /** Newton stops once no coefficient moves by more than this. */
    tolerance: z.number().gt(0).default(1e-9),
  })
  .strict();
export type LogisticParamsInput = z.input<typeof logisticParamsSchema>;

export interface LogisticResult {
  model: LogisticModel;
  history: Array<Record<string, number>>;
}

/**
 * Fits by Newton's method (IRLS) on standardised features: the loss is convex, so this
 * converges to the unique optimum in a handful of iterations with no learning rate to tune,
 * and it is deterministic without a seed.
 */
export function trainLogistic(
  data: Dataset,
  paramsIn: LogisticParamsInput = {},
  opts: { valid?: Dataset; onIteration?: IterationCallback } = {},
): LogisticResult {
  const params = logisticParamsSchema.parse(paramsIn);
  const n = validateDataset(data);
  assertBinaryLabels(data.label);
  const F = data.features.length;
  const mean = new Float64Array(F);
  const scale = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    const col = data.columns[f];
    let s = 0;
    for (let i = 0; i < n; i++) s += col[i];
    mean[f] = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (col[i] - mean[f]) ** 2;
    const sd = Math.sqrt(v / n);
    scale[f] = sd > 0 ? sd : 1;
  }
  // Coefficients on standardised features: index 0 is the intercept.
  const D = F + 1;
  const beta = new Float64Array(D);
  const z = new Float64Array(D);
  z[0] = 1;
  const history: Array<Record<string, number>> = [];
  for (let it = 0; it < params.maxIterations; it++) {
    const grad = new Float64Array(D);
    const hess = new Float64Array(D * D);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let m = beta[0];
      for (let f = 0; f < F; f++) {
        z[f + 1] = (data.columns[f][i] - mean[f]) / scale[f];
        m += beta[f + 1] * z[f + 1];
      }
      const p = sigmoid(m);
      const y = data.label[i];
      loss += logLossTerm(y, m);
      const r = p - y;
      const w = Math.max(p * (1 - p), 1e-12);
      for (let a = 0; a < D; a++) {
        grad[a] += r * z[a];
        const wa = w * z[a];
        for (let b = 0; b <= a; b++) hess[a * D + b] += wa * z[b];
      }
    }
    let penalty = 0;
    for (let a = 0; a < D; a++) {
      grad[a] /= n;
      for (let b = 0; b <= a; b++) {
        hess[a * D + b] /= n;
        hess[b * D + a] = hess[a * D + b];
      }
      if (a > 0) {
        grad[a] += params.l2 * beta[a];
        hess[a * D + a] += params.l2;
        penalty += 0.5 * params.l2 * beta[a] ** 2;
      }
    }
    const step = choleskySolve(hess, grad, D);
    let maxStep = 0;
    for (let a = 0; a < D; a++) {
      beta[a] -= step[a];
      maxStep = Math.max(maxStep, Math.abs(step[a]));
    }
    const metrics: Record<string, number> = { train_logloss: loss / n + penalty };
    if (opts.valid) metrics.valid_logloss = validLoss(opts.valid, beta, mean, scale);
    history.push(metrics);
    opts.onIteration?.(it, metrics);
    if (maxStep < params.tolerance) break;
  }
  const weights = Array.from({ length: F }, (_, f) => Math.fround(beta[f + 1] / scale[f]));
  let bias = beta[0];
  for (let f = 0; f < F; f++) bias -= (beta[f + 1] * mean[f]) / scale[f];
  return {
    model: {
      kind: "logistic",
      features: [...data.features],
      weights,
      bias: Math.fround(bias),
      means: Array.from(mean),
    },
    history,
  };
}

function logLossTerm(y: number, m: number): number {
  const s = y === 1 ? m : -m;
  return s > 0 ? Math.log1p(Math.exp(-s)) : -s + Math.log1p(Math.exp(s));
}

function validLoss(valid: Dataset, beta: Float64Array, mean: Float64Array, scale: Float64Array): number {
  const n = valid.label.length;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let m = beta[0];
    for (let f = 0; f < mean.length; f++) m += (beta[f + 1] * (valid.columns[f][i] - mean[f])) / scale[f];
    loss += logLossTerm(valid.label[i], m);
  }
  return loss / n;
}

/** Solves A x = b for a symmetric positive definite A (row-major, D x D). */
function choleskySolve(A: Float64Array, b: Float64Array, D: number): Float64Array {
  const L = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * D + j];
      for (let k = 0; k < j; k++) s -= L[i * D + k] * L[j * D + k];
      if (i === j) {
        if (!(s > 0)) {
          throw new TrainError(
            "INVALID_PARAMETER_VALUE",
            "logistic regression: the features are perfectly collinear or separate the classes; raise l2",
          );
        }
        L[i * D + i] = Math.sqrt(s);
      } else L[i * D + j] = s / L[j * D + j];
    }
  }
  const y = new Float64Array(D);
  for (let i = 0; i < D; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * D + k] * y[k];
    y[i] = s / L[i * D + i];
  }
  const x = new Float64Array(D);
  for (let i = D - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < D; k++) s -= L[k * D + i] * x[k];
    x[i] = s / L[i * D + i];
  }
  return x;
}
