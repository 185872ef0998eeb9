import type { Column } from "@keel/model-format";
import { TrainError } from "./errors";
import { Random } from "./random";

/** Numeric column storage (defined with the model format, whose `predict` scores it). */
export type { Column };

/**
 * Columnar training data: one typed array per feature (same length), and a label column.
 * Feature values must be finite; labels are 0/1 for binary classification.
 */
export interface Dataset {
  features: string[];
  columns: Column[];
  label: Column;
}

/** Number of rows; throws when columns disagree or values are not finite. */
export function validateDataset(data: Dataset, what = "training data"): number {
  const n = data.label.length;
  if (data.features.length === 0) throw new TrainError("INVALID_PARAMETER_VALUE", `${what}: no features`);
  if (data.features.length !== data.columns.length) {
    throw new TrainError(
      "INVALID_PARAMETER_VALUE",
      `${what}: ${data.features.length} feature names but ${data.columns.length} columns`,
    );
  }
  if (new Set(data.features).size !== data.features.length) {
    throw new TrainError("INVALID_PARAMETER_VALUE", `${what}: feature names must be unique`);
  }
  if (n === 0) throw new TrainError("INVALID_PARAMETER_VALUE", `${what}: no rows`);
  data.columns.forEach((col, f) => {
    if (col.length !== n) {
      throw new TrainError(
        "INVALID_PARAMETER_VALUE",
        `${what}: column '${data.features[f]}' has ${col.length} rows, label has ${n}`,
      );
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(col[i])) {
        throw new TrainError(
          "INVALID_PARAMETER_VALUE",
          `${what}: feature '${data.features[f]}' row ${i} is not a finite number`,
        );
      }
    }
  });
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(data.label[i])) {
      throw new TrainError("INVALID_PARAMETER_VALUE", `${what}: label row ${i} is not a finite number`);
    }
  }
  return n;
}

/** Throws unless every label is 0 or 1 and both classes occur. */
export function assertBinaryLabels(label: Column, what = "training data"): void {
  let ones = 0;
  for (let i = 0; i < label.length; i++) {
    const y = label[i];
    if (y !== 0 && y !== 1) {
      throw new TrainError(
        "INVALID_PARAMETER_VALUE",
        `${what}: binary labels must be 0 or 1, row ${i} is ${y}`,
      );
    }
    ones += y;
  }
  if (ones === 0 || ones === label.length) {
    throw new TrainError("INVALID_PARAMETER_VALUE", `${what}: binary labels need both classes`);
  }
}

/** The rows at `idx`, as a new dataset (Float64 columns). */
export function takeRows(data: Dataset, idx: ArrayLike<number>): Dataset {
  const pick = (col: Column) => {
    const out = new Float64Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = col[idx[i]];
    return out;
  };
  return { features: data.features, columns: data.columns.map(pick), label: pick(data.label) };
}

/** Splits rows into train/validation at random (seeded); `fraction` of rows go to validation. */
export function splitDataset(
  data: Dataset,
  fraction: number,
  seed: number,
): { train: Dataset; valid: Dataset } {
  const n = data.label.length;
  const k = Math.round(n * fraction);
  if (!(fraction > 0 && fraction < 1) || k === 0 || k === n) {
    throw new TrainError(
      "INVALID_PARAMETER_VALUE",
      `validation fraction ${fraction} leaves an empty split of ${n} rows`,
    );
  }
  const validIdx = new Random(seed ^ 0x5bd1e995).sample(n, k);
  const inValid = new Uint8Array(n);
  for (const i of validIdx) inValid[i] = 1;
  const trainIdx = new Uint32Array(n - k);
  let t = 0;
  for (let i = 0; i < n; i++) if (!inValid[i]) trainIdx[t++] = i;
  return { train: takeRows(data, trainIdx), valid: takeRows(data, validIdx) };
}

/** Row-major float32 copy of the features, as an ONNX `[N, F]` input tensor wants them. */
export function toRowMajorFloat32(columns: Column[]): Float32Array {
  const f = columns.length;
  const n = f === 0 ? 0 : columns[0].length;
  const out = new Float32Array(n * f);
  for (let j = 0; j < f; j++) {
    const col = columns[j];
    for (let i = 0; i < n; i++) out[i * f + j] = col[i];
  }
  return out;
}
