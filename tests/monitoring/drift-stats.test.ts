import { kolmogorovQ, ksTwoSample, psi } from "@keel/monitoring";
import { describe, expect, it } from "vitest";

describe("PSI", () => {
  it("matches a hand computation over the baseline's bins", () => {
    // Baseline: 4 equal bins split at 1, 2, 3. Window shares 10%, 20%, 30%, 40%.
    const values = [0.5, 1.5, 1.5, 2.5, 2.5, 2.5, 3.5, 3.5, 3.5, 3.5];
    const r = psi([1, 2, 3], [25, 25, 25, 25], values);
    expect(r.shares).toEqual([0.1, 0.2, 0.3, 0.4]);
    const hand =
      (0.1 - 0.25) * Math.log(0.1 / 0.25) +
      (0.2 - 0.25) * Math.log(0.2 / 0.25) +
      (0.3 - 0.25) * Math.log(0.3 / 0.25) +
      (0.4 - 0.25) * Math.log(0.4 / 0.25);
    expect(r.psi).toBeCloseTo(hand, 12);
    expect(r.psi).toBeCloseTo(0.2282, 4);
  });

  it("is 0 for the baseline's own shares, counts v == edge in the lower bin, floors empty bins", () => {
    expect(psi([1, 2], [1, 1, 2], [1, 2, 3, 3]).psi).toBeCloseTo(0, 12);
    const empty = psi([1], [50, 50], [0, 0]);
    expect(empty.psi).toBeCloseTo((1 - 0.5) * Math.log(1 / 0.5) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5), 12);
  });
});

describe("two-sample KS", () => {
  it("statistic by hand, with ties", () => {
    // F_a - F_b steps: at 2 -> 0.5 - 0; at 3 -> 0.75 - 0.2; at 4 -> 1 - 0.4 = 0.6 (the sup).
    expect(ksTwoSample([1, 2, 3, 4], [3, 4, 5, 6, 7]).statistic).toBeCloseTo(0.6, 12);
    // Identical samples (all ties) differ nowhere.
    expect(ksTwoSample([1, 1, 2], [1, 1, 2])).toEqual({ statistic: 0, pValue: 1 });
  });

  it("p-values follow the Kolmogorov distribution", () => {
    expect(kolmogorovQ(1)).toBeCloseTo(0.27, 4); // P(K > 1) = 0.2700
    expect(kolmogorovQ(1.358)).toBeCloseTo(0.05, 3); // the classic 5% critical value
    // n = m = 1000: D at the 5% critical value gives p ~ 0.05.
    const en = Math.sqrt(500);
    const d = 1.358 / (en + 0.12 + 0.11 / en);
    // Integers shifted by k: exactly k of 1000 values differ, so D = k / 1000.
    const a = Array.from({ length: 1000 }, (_, i) => i);
    const k = Math.round(d * 1000);
    const r = ksTwoSample(
      a,
      a.map((v) => v + k),
    );
    expect(r.statistic).toBeCloseTo(k / 1000, 12);
    expect(r.pValue).toBeGreaterThan(0.04);
    expect(r.pValue).toBeLessThan(0.065);
  });
});
