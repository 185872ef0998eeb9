import { baselineProfileSchema, parseModel } from "@keel/model-format";
import { MemoryTrackingLogger, trainModel } from "@keel/train";
import { describe, expect, it } from "vitest";
import { syntheticData } from "./synthetic";

const MODEL_FILES = [
  "baseline/profile.json",
  "model/MLmodel",
  "model/input_schema.json",
  "model/keel-model.json",
  "model/model.onnx",
];

describe("trainModel with a tracking logger", () => {
  it("logistic regression: params, per-iteration and validation metrics, model files, baseline", async () => {
    const logger = new MemoryTrackingLogger();
    const out = await trainModel(
      syntheticData(2000, 4, 3),
      { algorithm: "logistic", params: { l2: 0.01 }, seed: 5 },
      logger,
      "r1",
    );
    expect(out.model.kind).toBe("logistic");
    expect(out.metrics.valid_auc).toBeGreaterThan(0.8);
    expect(logger.params).toMatchObject({
      algorithm: "logistic",
      l2: "0.01",
      maxIterations: "50",
      train_rows: "1600",
      valid_rows: "400",
    });
    expect(logger.tags["keel.trainer"]).toBe("logistic");
    const iterations = logger.metrics.filter((m) => m.key === "train_logloss");
    expect(iterations.length).toBe(out.history.length);
    // Newton's method decreases the penalised training loss every step.
    for (let i = 1; i < iterations.length; i++)
      expect(iterations[i].value).toBeLessThanOrEqual(iterations[i - 1].value + 1e-12);
    expect([...logger.artifacts.keys()].sort()).toEqual(MODEL_FILES);
    expect(
      parseModel(
        JSON.parse(Buffer.from(logger.artifacts.get("model/keel-model.json") as Uint8Array).toString()),
      ),
    ).toEqual(out.model);
    baselineProfileSchema.parse(
      JSON.parse(Buffer.from(logger.artifacts.get("baseline/profile.json") as Uint8Array).toString()),
    );
  });

  it("regression trees report RMSE, MAE and R2", async () => {
    const logger = new MemoryTrackingLogger();
    const out = await trainModel(
      syntheticData(1500, 4, 9, "regression"),
      { params: { objective: "regression", rounds: 40 } },
      logger,
    );
    expect(Object.keys(out.metrics).sort()).toEqual(["valid_mae", "valid_r2", "valid_rmse"]);
    expect(out.metrics.valid_r2).toBeGreaterThan(0.8);
    expect(logger.metrics.some((m) => m.key === "valid_rmse")).toBe(true);
  });

  it("rejects unknown parameters by name", async () => {
    await expect(trainModel(syntheticData(100, 2, 1), { params: { learning_rate: 0.1 } })).rejects.toThrow(
      /learning_rate/,
    );
  });
});
