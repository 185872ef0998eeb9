import { ModelFormatError } from "./errors";
import type { LogisticModel } from "./logistic-model";
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

/** One KServe v2 output tensor (row-major data). */
export interface V2Tensor {
  name: string;
  datatype: "FP64";
  shape: number[];
  data: number[];
}

/**
 * Explains a row-major `[N, F]` input tensor (the `features` input of the ONNX model) and
 * returns KServe v2 output tensors, so an `/explain` endpoint is a thin mapping:
 * `contributions` [N, F] (in `model.features` order), `base_value` [N, 1] and `margin` [N, 1].
 */
export function explainTensor(
  model: KeelModel,
  data: ArrayLike<number>,
  shape: readonly number[],
): V2Tensor[] {
  const F = model.features.length;
  if (shape.length !== 2 || shape[1] !== F || shape[0] * F !== data.length) {
    throw new ModelFormatError(
      "INVALID_PARAMETER_VALUE",
      `explain input must be [N, ${F}] with N * ${F} values, got shape [${shape.join(", ")}] and ${data.length} values`,
    );
  }
  const n = shape[0];
  const base = explanationBase(model);
  const contributions: number[] = [];
  const margins: number[] = [];
  for (let i = 0; i < n; i++) {
    const e = explainRow(model, Array.prototype.slice.call(data, i * F, (i + 1) * F), base);
    contributions.push(...e.contributions);
    margins.push(e.margin);
  }
  return [
    { name: "contributions", datatype: "FP64", shape: [n, F], data: contributions },
    { name: "base_value", datatype: "FP64", shape: [n, 1], data: new Array(n).fill(base) },
    { name: "margin", datatype: "FP64", shape: [n, 1], data: margins },
  ];
}
