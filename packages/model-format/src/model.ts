import { z } from "zod";
import { ModelFormatError } from "./errors";
import { type LogisticModel, logisticMargin, logisticModelSchema } from "./logistic-model";
import { sigmoid, type TreeEnsembleModel, treeEnsembleSchema, treeMargin } from "./tree-model";

/** Numeric column storage the trainers accept without copying. */
export type Column = Float64Array | Float32Array;

/** Any model Keel's built-in trainers produce; its JSON form is `model/keel-model.json`. */
export const keelModelSchema = z.discriminatedUnion("kind", [logisticModelSchema, treeEnsembleSchema]);
export type KeelModel = LogisticModel | TreeEnsembleModel;

/** Parses a stored model, naming what is wrong with it. */
export function parseModel(json: unknown): KeelModel {
  const r = keelModelSchema.safeParse(json);
  if (!r.success)
    throw new ModelFormatError("INVALID_PARAMETER_VALUE", `not a Keel model: ${r.error.issues[0]?.message}`);
  return r.data;
}

export function isClassifier(model: KeelModel): boolean {
  return model.kind === "logistic" || model.objective === "binary";
}

/** Raw score before the link: log-odds for classifiers, the prediction itself for regression. */
export function margin(model: KeelModel, x: ArrayLike<number>): number {
  return model.kind === "logistic" ? logisticMargin(model, x) : treeMargin(model, x);
}

/** P(y = 1) for classifiers, the predicted value for regression (the ONNX `score` output). */
export function predictRow(model: KeelModel, x: ArrayLike<number>): number {
  const m = margin(model, x);
  return isClassifier(model) ? sigmoid(m) : m;
}

/** Scores every row of columnar data. */
export function predict(model: KeelModel, columns: Column[]): Float64Array {
  if (columns.length !== model.features.length) {
    throw new ModelFormatError(
      "INVALID_PARAMETER_VALUE",
      `model has ${model.features.length} features, got ${columns.length} columns`,
    );
  }
  const n = columns[0].length;
  const out = new Float64Array(n);
  const row = new Float64Array(columns.length);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < columns.length; f++) row[f] = columns[f][i];
    out[i] = predictRow(model, row);
  }
  return out;
}
