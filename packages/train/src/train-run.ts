import { parseWith } from "@keel/core";
import {
  BASELINE_PROFILE_ARTIFACT,
  isClassifier,
  type KeelModel,
  modelArtifacts,
  predict,
} from "@keel/model-format";
import { z } from "zod";
import { type Dataset, splitDataset } from "./dataset";
import { gbdtParamsSchema, type IterationCallback, trainGbdt } from "./gbdt";
import { logisticParamsSchema, trainLogistic } from "./logistic";
import { evaluateBinary, evaluateRegression } from "./metrics";
import { profileDataset } from "./profile-dataset";
import type { TrackingLogger } from "./tracking";

export const trainSpecSchema = z.object({
  algorithm: z.enum(["gbdt", "logistic"]).default("gbdt"),
  /** The algorithm's own parameters (see gbdtParamsSchema / logisticParamsSchema). */
  params: z.record(z.string(), z.unknown()).default({}),
  /** Share of rows held out for validation metrics and early stopping. */
  validationFraction: z.number().gt(0).lt(1).default(0.2),
  /** Decision threshold for precision/recall/F1. */
  threshold: z.number().min(0).max(1).default(0.5),
  /** Seeds the validation split and the profile sample (the trees take `params.seed`). */
  seed: z.number().int().default(0),
});
export type TrainSpec = z.input<typeof trainSpecSchema>;

export interface TrainOutcome {
  model: KeelModel;
  /** Validation metrics: valid_auc, valid_logloss, ... (classifiers) or valid_rmse, ... (regression). */
  metrics: Record<string, number>;
  /** Per-iteration train/valid loss. */
  history: Array<Record<string, number>>;
}

/** The algorithm's parameters with defaults applied; throws INVALID_PARAMETER_VALUE naming bad ones. */
export function resolveAlgorithmParams(spec: z.output<typeof trainSpecSchema>): Record<string, unknown> {
  return spec.algorithm === "gbdt"
    ? parseWith(gbdtParamsSchema, spec.params, "gbdt params")
    : parseWith(logisticParamsSchema, spec.params, "logistic params");
}

/**
 * Trains one model on a dataset and, with a logger, records everything a reviewer needs in
 * the run: params, per-iteration metrics, validation metrics, the model directory
 * (`model/MLmodel`, `model/model.onnx`, `model/input_schema.json`, `model/keel-model.json`)
 * and the training-feature profile `baseline/profile.json` that drift monitoring compares to.
 */
export async function trainModel(
  data: Dataset,
  specIn: TrainSpec,
  logger?: TrackingLogger,
  runId = "local",
  /** Called after every boosting round / iteration (tuning's intermediate metrics; throw to stop). */
  onIteration?: IterationCallback,
): Promise<TrainOutcome> {
  const spec = parseWith(trainSpecSchema, specIn, "training spec");
  const { train, valid } = splitDataset(data, spec.validationFraction, spec.seed);
  let model: KeelModel;
  let history: Array<Record<string, number>>;
  const resolved = resolveAlgorithmParams(spec);
  if (spec.algorithm === "gbdt") {
    const r = trainGbdt(train, resolved, { valid, onIteration });
    model = r.model;
    history = r.history;
    resolved.bestIteration = r.bestIteration;
  } else {
    const r = trainLogistic(train, resolved, { valid, onIteration });
    model = r.model;
    history = r.history;
  }
  const scores = predict(model, valid.columns);
  const raw: Record<string, number> = isClassifier(model)
    ? { ...evaluateBinary(valid.label, scores, spec.threshold) }
    : { ...evaluateRegression(valid.label, scores) };
  const metrics = Object.fromEntries(Object.entries(raw).map(([k, v]) => [`valid_${k}`, v]));
  if (logger) {
    await logger.setTags({ "keel.trainer": spec.algorithm, "keel.features": JSON.stringify(data.features) });
    await logger.logParams({
      algorithm: spec.algorithm,
      validation_fraction: spec.validationFraction,
      threshold: spec.threshold,
      seed: spec.seed,
      train_rows: train.label.length,
      valid_rows: valid.label.length,
      features: data.features.length,
      ...(resolved as Record<string, string | number | boolean>),
    });
    for (let step = 0; step < history.length; step++) await logger.logMetrics(history[step], step);
    await logger.logMetrics(metrics, history.length);
    for (const [path, bytes] of modelArtifacts(model, runId)) await logger.logArtifact(path, bytes);
    const profile = profileDataset(train, { seed: spec.seed });
    await logger.logArtifact(BASELINE_PROFILE_ARTIFACT, new TextEncoder().encode(JSON.stringify(profile)));
    await logger.flush();
  }
  return { model, metrics, history };
}
