import { exportOnnx, type KeelModel, ONNX_INPUT, ONNX_OUTPUT, predict } from "@keel/model-format";
import { splitDataset, toRowMajorFloat32, trainGbdt, trainLogistic } from "@keel/train";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { syntheticData } from "./synthetic";

/** Runs the exported model in ONNX Runtime and returns the largest gap to the TS model on held-out rows. */
async function maxGap(
  model: KeelModel,
  columns: Float64Array[],
): Promise<{ gap: number; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(exportOnnx(model));
  expect(session.inputNames).toEqual([ONNX_INPUT]);
  expect(session.outputNames).toEqual([ONNX_OUTPUT]);
  const n = columns[0].length;
  const out = await session.run({
    [ONNX_INPUT]: new ort.Tensor("float32", toRowMajorFloat32(columns), [n, columns.length]),
  });
  const got = out[ONNX_OUTPUT].data as Float32Array;
  const want = predict(model, columns);
  let gap = 0;
  for (let i = 0; i < n; i++) gap = Math.max(gap, Math.abs(got[i] - want[i]));
  await session.release();
  return { gap, dims: out[ONNX_OUTPUT].dims };
}

describe("ONNX export runs in ONNX Runtime with the TypeScript model's predictions", () => {
  const { train, valid } = splitDataset(syntheticData(3000, 8, 21), 0.3, 4);

  it("gradient-boosted classifier (TreeEnsembleClassifier)", async () => {
    const { model } = trainGbdt(train, { rounds: 80, subsample: 0.8, seed: 9 });
    const { gap, dims } = await maxGap(model, valid.columns as Float64Array[]);
    expect(dims).toEqual([valid.label.length, 1]);
    expect(gap).toBeLessThan(1e-5);
  });

  it("gradient-boosted regressor (TreeEnsembleRegressor)", async () => {
    const reg = splitDataset(syntheticData(2000, 5, 3, "regression"), 0.3, 4);
    const { model } = trainGbdt(reg.train, { objective: "regression", rounds: 60, learningRate: 0.2 });
    expect((await maxGap(model, reg.valid.columns as Float64Array[])).gap).toBeLessThan(1e-5);
  });

  it("logistic regression (MatMul + Add + Sigmoid)", async () => {
    const { model } = trainLogistic(train);
    expect((await maxGap(model, valid.columns as Float64Array[])).gap).toBeLessThan(1e-5);
  });

  it("routes values exactly on a threshold and NaN the same way", async () => {
    const { model } = trainGbdt(train, { rounds: 20 });
    // Columns made of the model's own thresholds (ties) and a NaN.
    const thresholds = model.trees.flatMap((t) => t.threshold.filter((_, i) => t.feature[i] >= 0));
    const cols = train.columns.map((_, f) =>
      Float64Array.from({ length: 50 }, (_, i) =>
        i === 0 ? Number.NaN : thresholds[(i * 7 + f) % thresholds.length],
      ),
    );
    expect((await maxGap(model, cols)).gap).toBeLessThan(1e-5);
  });
});
