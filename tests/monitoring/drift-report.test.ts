import type { BaselineProfile } from "@keel/model-format";
import { computeDriftReport, type PredictionLogEntry, renderDriftHtml } from "@keel/monitoring";
import { describe, expect, it } from "vitest";

const baseline: BaselineProfile = {
  version: 1,
  rows: 100,
  features: ["a", "b"].map((name) => ({
    name,
    edges: [1, 2, 3],
    counts: [25, 25, 25, 25],
    mean: 2,
    std: 1,
    min: 0,
    max: 4,
    sample: [0.5, 1.5, 2.5, 3.5],
  })),
};

const entry = (inputs: PredictionLogEntry["inputs"]): PredictionLogEntry => ({
  deployment: "d",
  model: "m",
  version: "1",
  requestId: "r",
  time: 0,
  latencyMs: 1,
  inputs,
  outputs: {},
});

const report = (entries: PredictionLogEntry[]) =>
  computeDriftReport({
    id: "x",
    deployment: "d",
    baseline,
    entries,
    from: 0,
    to: 1,
    createdAt: 1,
    thresholds: { watch: 0.1, drift: 0.25 },
  });

describe("drift report", () => {
  it("reads features by name ([N, 1] each) or from one [N, F] tensor, counting missing values", () => {
    const r = report([
      entry({ a: [[0.5], [1.5]], b: [[null], [2.5]] }),
      entry({
        features: [
          [2.5, 3.5],
          [3.5, null],
        ],
      }),
      entry({ other: [[1, 2, 3]] }),
    ]);
    expect(r.rows).toBe(4);
    expect(r.skippedRequests).toBe(1);
    const [a, b] = r.features;
    expect(a.missing).toBe(0);
    expect(a.current.shares).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(a.psi).toBeCloseTo(0, 12);
    expect(b.missing).toBe(2);
    expect(b.current.shares).toEqual([0, 0, 0.5, 0.5]);
  });

  it("marks a feature with only missing values no_data without hiding the others' drift", () => {
    const r = report([
      entry({
        features: [
          [3.5, null],
          [3.6, null],
          [3.7, null],
        ],
      }),
    ]);
    expect(r.features.map((f) => f.status)).toEqual(["drift", "no_data"]);
    expect(r.status).toBe("drift");
    expect(renderDriftHtml(r)).toContain("no data");
  });

  it("is no_data when nothing usable was logged, and the page escapes names", () => {
    const r = report([]);
    expect(r.status).toBe("no_data");
    expect(r.features).toEqual([]);
    const html = renderDriftHtml({ ...r, deployment: "<script>" });
    expect(html).not.toContain("<script>");
    expect(html).toContain("&#60;script&#62;");
  });
});
