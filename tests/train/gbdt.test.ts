import { predict } from "@keel/model-format";
import { evaluateBinary, evaluateRegression, splitDataset, TrainError, trainGbdt } from "@keel/train";
import { describe, expect, it } from "vitest";
import { syntheticData } from "./synthetic";

describe("gradient-boosted trees", () => {
  const data = syntheticData(4000, 6, 7);
  const { train, valid } = splitDataset(data, 0.25, 1);

  it("learns a binary problem with interactions (held-out AUC)", () => {
    const { model } = trainGbdt(train, { rounds: 60, seed: 3 }, { valid });
    const m = evaluateBinary(valid.label, predict(model, valid.columns));
    expect(m.auc).toBeGreaterThan(0.93);
    expect(m.f1).toBeGreaterThan(0.8);
  });

  it("learns a regression problem", () => {
    const reg = splitDataset(syntheticData(3000, 5, 11, "regression"), 0.25, 1);
    const { model } = trainGbdt(
      reg.train,
      { objective: "regression", rounds: 80, seed: 1 },
      { valid: reg.valid },
    );
    expect(evaluateRegression(reg.valid.label, predict(model, reg.valid.columns)).r2).toBeGreaterThan(0.9);
  });

  it("is deterministic for a seed, and the seed matters when subsampling", () => {
    const p = { rounds: 15, subsample: 0.7, seed: 42 };
    const a = trainGbdt(train, p).model;
    const b = trainGbdt(train, p).model;
    const c = trainGbdt(train, { ...p, seed: 43 }).model;
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it("respects depth, leaves and rows-per-leaf limits", () => {
    const { model } = trainGbdt(train, { rounds: 10, maxDepth: 3, maxLeaves: 6, minRowsPerLeaf: 50 });
    for (const t of model.trees) {
      const leaves = t.feature.map((f, i) => (f < 0 ? i : -1)).filter((i) => i >= 0);
      expect(leaves.length).toBeLessThanOrEqual(6);
      for (const l of leaves) expect(t.cover[l]).toBeGreaterThanOrEqual(50);
      const depth = (node: number): number =>
        t.feature[node] < 0 ? 0 : 1 + Math.max(depth(t.left[node]), depth(t.right[node]));
      expect(depth(0)).toBeLessThanOrEqual(3);
      // Covers add up, which TreeSHAP's expectations rely on.
      t.feature.forEach((f, i) => {
        if (f >= 0) expect(t.cover[t.left[i]] + t.cover[t.right[i]]).toBe(t.cover[i]);
      });
    }
  });

  it("stops early on the validation set and keeps the best round", () => {
    // A high learning rate on few rows overfits quickly.
    const small = splitDataset(syntheticData(600, 6, 5), 0.5, 2);
    const r = trainGbdt(
      small.train,
      { rounds: 300, learningRate: 0.8, minRowsPerLeaf: 2, earlyStoppingRounds: 5 },
      { valid: small.valid },
    );
    expect(r.history.length).toBeLessThan(300);
    expect(r.model.trees.length).toBe(r.bestIteration);
    const losses = r.history.map((h) => h.valid_logloss);
    expect(Math.min(...losses)).toBe(losses[r.bestIteration - 1]);
  });

  it("rejects bad data with the problem named", () => {
    const bad = { ...train, columns: train.columns.map((c) => c.slice()) };
    bad.columns[2][5] = Number.NaN;
    expect(() => trainGbdt(bad)).toThrow(/feature 'f2' row 5 is not a finite number/);
    const three = { ...train, label: train.label.map((y, i) => (i === 0 ? 2 : y)) };
    expect(() => trainGbdt(three)).toThrow(TrainError);
    expect(() => trainGbdt(train, { maxDepth: 0 })).toThrow();
  });
});
