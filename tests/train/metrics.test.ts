import { auc, evaluateBinary, logloss } from "@keel/train";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** AUC by definition: P(score of a random positive > a random negative), ties count 1/2. */
function bruteAuc(y: number[], s: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    for (let j = 0; j < y.length; j++) {
      if (y[i] !== 1 || y[j] !== 0) continue;
      pairs++;
      wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe("evaluation metrics", () => {
  it("AUC equals the brute-force pair count, ties included", () => {
    const rows = fc
      .array(
        fc.record({ y: fc.integer({ min: 0, max: 1 }), s: fc.integer({ min: 0, max: 8 }).map((v) => v / 8) }),
        { minLength: 2, maxLength: 60 },
      )
      .filter((r) => r.some((x) => x.y === 1) && r.some((x) => x.y === 0));
    fc.assert(
      fc.property(rows, (r) => {
        const y = r.map((x) => x.y);
        const s = r.map((x) => x.s);
        expect(auc(Float64Array.from(y), s)).toBeCloseTo(bruteAuc(y, s), 12);
      }),
      { numRuns: 300 },
    );
  });

  it("precision, recall, F1 and log loss at a threshold match hand-computed values", () => {
    const y = Float64Array.from([1, 1, 1, 0, 0, 0, 0, 1]);
    const p = [0.9, 0.6, 0.3, 0.7, 0.2, 0.1, 0.4, 0.5];
    // At 0.5: predicted positive = rows 0,1,3,7 -> tp 3 (0,1,7), fp 1 (3), fn 1 (2).
    const m = evaluateBinary(y, p, 0.5);
    expect(m.precision).toBeCloseTo(0.75, 12);
    expect(m.recall).toBeCloseTo(0.75, 12);
    expect(m.f1).toBeCloseTo(0.75, 12);
    expect(m.accuracy).toBeCloseTo(6 / 8, 12);
    const hand =
      -(
        Math.log(0.9) +
        Math.log(0.6) +
        Math.log(0.3) +
        Math.log(0.3) +
        Math.log(0.8) +
        Math.log(0.9) +
        Math.log(0.6) +
        Math.log(0.5)
      ) / 8;
    expect(logloss(y, p)).toBeCloseTo(hand, 12);
    expect(evaluateBinary(y, p, 0.95)).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });
});
