import type { Column } from "./dataset";
import { TrainError } from "./errors";

export interface BinaryMetrics {
  auc: number;
  logloss: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  threshold: number;
}

/**
 * Area under the ROC curve by the rank-sum (Mann-Whitney U) statistic; tied scores share
 * their average rank, which counts a tied positive/negative pair as one half.
 */
export function auc(y: Column, score: ArrayLike<number>): number {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a] - score[b]);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]] === score[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[order[k]] === 1) {
        pos++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) throw new TrainError("INVALID_PARAMETER_VALUE", "AUC needs both classes");
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean binary cross-entropy of probabilities, clipped to [1e-15, 1 - 1e-15]. */
export function logloss(y: Column, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i], 1e-15), 1 - 1e-15);
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

/** Threshold metrics: a row is predicted positive when p >= threshold. Undefined ratios are 0. */
export function evaluateBinary(y: Column, p: ArrayLike<number>, threshold = 0.5): BinaryMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < y.length; i++) {
    const predicted = p[i] >= threshold;
    if (y[i] === 1) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  return {
    auc: auc(y, p),
    logloss: logloss(y, p),
    accuracy: (tp + tn) / y.length,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    threshold,
  };
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
}

export function evaluateRegression(y: Column, pred: ArrayLike<number>): RegressionMetrics {
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i] / n;
  let se = 0;
  let ae = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    se += (pred[i] - y[i]) ** 2;
    ae += Math.abs(pred[i] - y[i]);
    tot += (y[i] - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: tot > 0 ? 1 - se / tot : 0 };
}
