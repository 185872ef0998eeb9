import {
  explainRow,
  explainRows,
  explainTensor,
  margin,
  type Tree,
  type TreeEnsembleModel,
  treeShap,
} from "@keel/model-format";
import { trainGbdt, trainLogistic } from "@keel/train";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { syntheticData } from "./synthetic";

/** A random tree over F features: random splits (features may repeat on a path), positive leaf covers. */
function arbTree(F: number, maxDepth: number): fc.Arbitrary<Tree> {
  type Node =
    | { leaf: true; value: number; cover: number }
    | { leaf: false; feature: number; threshold: number; l: Node; r: Node };
  const node: fc.Memo<Node> = fc.memo((d) =>
    d <= 1
      ? fc.record({
          leaf: fc.constant(true as const),
          value: fc.double({ min: -5, max: 5, noNaN: true }),
          cover: fc.integer({ min: 1, max: 100 }),
        })
      : fc.oneof(
          { weight: 1, arbitrary: node(1) },
          {
            weight: 3,
            arbitrary: fc.record({
              leaf: fc.constant(false as const),
              feature: fc.integer({ min: 0, max: F - 1 }),
              threshold: fc.integer({ min: -4, max: 4 }).map((v) => v / 2),
              l: node(d - 1),
              r: node(d - 1),
            }),
          },
        ),
  );
  return node(maxDepth).map((root) => {
    const t: Tree = { feature: [], threshold: [], left: [], right: [], value: [], cover: [] };
    const add = (n: Node): number => {
      const i = t.feature.length;
      t.feature.push(-1);
      t.threshold.push(0);
      t.left.push(-1);
      t.right.push(-1);
      t.value.push(0);
      t.cover.push(0);
      if (n.leaf) {
        t.value[i] = n.value;
        t.cover[i] = n.cover;
      } else {
        t.feature[i] = n.feature;
        t.threshold[i] = n.threshold;
        t.left[i] = add(n.l);
        t.right[i] = add(n.r);
        t.cover[i] = t.cover[t.left[i]] + t.cover[t.right[i]];
      }
      return i;
    };
    add(root);
    return t;
  });
}

/** E[f(x) | x_S] the path-dependent way: follow x on features in S, average by cover elsewhere. */
function condExpectation(t: Tree, x: number[], S: Set<number>, node = 0): number {
  if (t.feature[node] < 0) return t.value[node];
  const f = t.feature[node];
  if (S.has(f))
    return condExpectation(t, x, S, Math.fround(x[f]) <= t.threshold[node] ? t.left[node] : t.right[node]);
  const l = t.left[node];
  const r = t.right[node];
  return (
    (t.cover[l] * condExpectation(t, x, S, l) + t.cover[r] * condExpectation(t, x, S, r)) / t.cover[node]
  );
}

/** Shapley values by enumerating every coalition (exponential; for a few features only). */
function bruteShapley(model: TreeEnsembleModel, x: number[]): number[] {
  const F = model.features.length;
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const v = (S: Set<number>) => model.trees.reduce((s, t) => s + condExpectation(t, x, S), model.baseScore);
  const phi = new Array<number>(F).fill(0);
  for (let mask = 0; mask < 1 << F; mask++) {
    const S = new Set(Array.from({ length: F }, (_, i) => i).filter((i) => mask & (1 << i)));
    for (let i = 0; i < F; i++) {
      if (S.has(i)) continue;
      const w = (fact(S.size) * fact(F - S.size - 1)) / fact(F);
      phi[i] += w * (v(new Set([...S, i])) - v(S));
    }
  }
  return phi;
}

const F = 4;
const arbModel = fc
  .record({
    trees: fc.array(arbTree(F, 6), { minLength: 1, maxLength: 4 }),
    baseScore: fc.double({ min: -2, max: 2, noNaN: true }),
  })
  .map(
    ({ trees, baseScore }): TreeEnsembleModel => ({
      kind: "gbdt",
      objective: "binary",
      features: ["a", "b", "c", "d"],
      baseScore,
      trees,
    }),
  );
const arbRow = fc.array(
  fc.integer({ min: -6, max: 6 }).map((v) => v / 2 + 0.25 * (v % 2)),
  { minLength: F, maxLength: F },
);

describe("TreeSHAP", () => {
  it("contributions plus base equal the margin (random trees, random rows)", () => {
    fc.assert(
      fc.property(arbModel, fc.array(arbRow, { minLength: 1, maxLength: 5 }), (model, rows) => {
        for (const x of rows) {
          const e = explainRow(model, x);
          const sum = e.contributions.reduce((a, b) => a + b, e.base);
          expect(sum).toBeCloseTo(margin(model, x), 9);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("equals the exact Shapley values of the path-dependent value function", () => {
    fc.assert(
      fc.property(arbModel, arbRow, (model, x) => {
        const fast = treeShap(model, x);
        const exact = bruteShapley(model, x);
        for (let i = 0; i < F; i++) expect(fast[i]).toBeCloseTo(exact[i], 9);
      }),
      { numRuns: 150 },
    );
  });

  it("is additive on a trained model for every held-out row", () => {
    const data = syntheticData(1500, 6, 2);
    const { model } = trainGbdt(data, { rounds: 40, maxDepth: 5 });
    const rows = Array.from({ length: 200 }, (_, i) => data.columns.map((c) => c[i]));
    for (const [i, e] of explainRows(model, rows).entries()) {
      expect(e.contributions.reduce((a, b) => a + b, e.base)).toBeCloseTo(margin(model, rows[i]), 9);
    }
  });
});

describe("logistic regression explanations", () => {
  it("are w_i * (x_i - mean_i) from the margin at the training means, and add up", () => {
    const data = syntheticData(1000, 5, 8);
    const { model } = trainLogistic(data);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 5, maxLength: 5 }),
        (x) => {
          const e = explainRow(model, x);
          expect(e.contributions[2]).toBeCloseTo(model.weights[2] * (Math.fround(x[2]) - model.means[2]), 12);
          expect(e.contributions.reduce((a, b) => a + b, e.base)).toBeCloseTo(margin(model, x), 9);
        },
      ),
    );
  });
});

describe("explainTensor (v2 outputs for an /explain endpoint)", () => {
  it("returns [N, F] contributions, base and margin for a row-major batch, and names bad shapes", () => {
    const data = syntheticData(500, 3, 4);
    const { model } = trainGbdt(data, { rounds: 10 });
    const flat = [1, 2, 3, -1, 0, 4];
    const [contrib, base, m] = explainTensor(model, Float32Array.from(flat), [2, 3]);
    expect(contrib.shape).toEqual([2, 3]);
    expect(base.data[0]).toBe(base.data[1]);
    for (let i = 0; i < 2; i++) {
      const row = flat.slice(i * 3, i * 3 + 3);
      expect(m.data[i]).toBe(margin(model, row));
      expect(contrib.data.slice(i * 3, i * 3 + 3)).toEqual(explainRow(model, row).contributions);
    }
    expect(() => explainTensor(model, flat, [3, 2])).toThrow(/must be \[N, 3\]/);
  });
});
