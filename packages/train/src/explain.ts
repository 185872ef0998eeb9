import type { LogisticModel } from "./logistic";
import { type KeelModel, margin } from "./model";
import { expectedMargin, treeShap } from "./tree-shap";

/**
 * Per-feature contributions to one row's margin (log-odds for classifiers):
 * `base + sum(contributions) === margin(row)`.
 *
 * - Trees: exact path-dependent TreeSHAP; `base` is the expected margin under the training
 *   distribution (leaf values weighed by cover).
 * - Logistic regression: `w_i * (x_i - mean_i)` with `base` the margin at the training means.
 *   These are the exact Shapley values of a linear model with independent features, and they
 *   read naturally ("this amount is above average and pushes the score up").
 */
export interface Explanation {
  base: number;
  contributions: number[];
  margin: number;
}

export function explainRow(
  model: KeelModel,
  x: ArrayLike<number>,
  base = explanationBase(model),
): Explanation {
  if (model.kind === "logistic") {
    const contributions = model.weights.map((w, f) => w * (Math.fround(x[f]) - model.means[f]));
    return { base, contributions, margin: margin(model, x) };
  }
  const phi = treeShap(model, x);
  return { base, contributions: Array.from(phi), margin: margin(model, x) };
}

/** Explains many rows (row-major input, as served), sharing the base computation. */
export function explainRows(model: KeelModel, rows: ArrayLike<number>[]): Explanation[] {
  const base = explanationBase(model);
  return rows.map((x) => explainRow(model, x, base));
}

/** The margin every explanation starts from (see `Explanation`). */
export function explanationBase(model: KeelModel): number {
  return model.kind === "logistic" ? linearBase(model) : expectedMargin(model);
}

function linearBase(model: LogisticModel): number {
  let b = model.bias;
  for (let f = 0; f < model.weights.length; f++) b += model.weights[f] * model.means[f];
  return b;
}
