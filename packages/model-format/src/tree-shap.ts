import { type Tree, type TreeEnsembleModel, treeDepth } from "./tree-model";

/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2), the algorithm of
 * the `shap` package's tree explainer. For each row the contributions phi satisfy
 * `sum(phi) + expectedValue(model) === margin(row)` (local accuracy), where the expectation
 * weighs leaves by the training rows that reached them (`cover`).
 */
export function treeShap(
  model: TreeEnsembleModel,
  x: ArrayLike<number>,
  phi = new Float64Array(model.features.length),
): Float64Array {
  for (const tree of model.trees) {
    let explainer = explainers.get(tree);
    if (!explainer) {
      explainer = new PathExplainer(tree);
      explainers.set(tree, explainer);
    }
    explainer.explain(x, phi);
  }
  return phi;
}

/** Path buffers sized per tree, reused across rows (explaining is single-threaded). */
const explainers = new WeakMap<Tree, PathExplainer>();

/** The model's mean margin over the training distribution (`base value` of the explanations). */
export function expectedMargin(model: TreeEnsembleModel): number {
  let e = model.baseScore;
  for (const t of model.trees) e += treeExpectation(t);
  return e;
}

export function treeExpectation(tree: Tree, node = 0): number {
  if (tree.feature[node] < 0) return tree.value[node];
  const c = tree.cover[node];
  if (c === 0) return 0;
  const l = tree.left[node];
  const r = tree.right[node];
  return (tree.cover[l] * treeExpectation(tree, l) + tree.cover[r] * treeExpectation(tree, r)) / c;
}

/**
 * The "unique path" of Algorithm 2 lives in flat typed arrays: each recursion level copies
 * the parent's path into the next slice, so unwinding never disturbs the caller's copy.
 */
class PathExplainer {
  private readonly feat: Int32Array;
  private readonly zero: Float64Array;
  private readonly one: Float64Array;
  private readonly w: Float64Array;

  constructor(private readonly tree: Tree) {
    const maxd = treeDepth(tree) + 2;
    const size = (maxd * (maxd + 1)) / 2;
    this.feat = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.w = new Float64Array(size);
  }

  explain(x: ArrayLike<number>, phi: Float64Array): void {
    this.recurse(x, phi, 0, 0, 0, 1, 1, -1);
  }

  private recurse(
    x: ArrayLike<number>,
    phi: Float64Array,
    node: number,
    parentOffset: number,
    depth: number,
    pz: number,
    po: number,
    pf: number,
  ): void {
    const { feat, zero, one, w, tree } = this;
    const off = parentOffset + depth;
    // Copy the parent's path (depth elements) into this level's slice, then extend it.
    for (let i = 0; i < depth; i++) {
      feat[off + i] = feat[parentOffset + i];
      zero[off + i] = zero[parentOffset + i];
      one[off + i] = one[parentOffset + i];
      w[off + i] = w[parentOffset + i];
    }
    this.extend(off, depth, pz, po, pf);
    const split = tree.feature[node];
    if (split < 0) {
      const v = tree.value[node];
      for (let i = 1; i <= depth; i++) {
        const s = this.unwoundSum(off, depth, i);
        phi[feat[off + i]] += s * (one[off + i] - zero[off + i]) * v;
      }
      return;
    }
    const goLeft = Math.fround(x[split]) <= tree.threshold[node];
    const hot = goLeft ? tree.left[node] : tree.right[node];
    const cold = goLeft ? tree.right[node] : tree.left[node];
    const cover = tree.cover[node];
    const hotZero = cover > 0 ? tree.cover[hot] / cover : 0;
    const coldZero = cover > 0 ? tree.cover[cold] / cover : 0;
    let inZero = 1;
    let inOne = 1;
    let k = 1;
    while (k <= depth && feat[off + k] !== split) k++;
    if (k <= depth) {
      // The feature was split on higher up: undo that split so this one accounts for both.
      inZero = zero[off + k];
      inOne = one[off + k];
      this.unwind(off, depth, k);
      depth -= 1;
    }
    this.recurse(x, phi, hot, off, depth + 1, hotZero * inZero, inOne, split);
    this.recurse(x, phi, cold, off, depth + 1, coldZero * inZero, 0, split);
  }

  private extend(off: number, d: number, pz: number, po: number, pf: number): void {
    const { feat, zero, one, w } = this;
    feat[off + d] = pf;
    zero[off + d] = pz;
    one[off + d] = po;
    w[off + d] = d === 0 ? 1 : 0;
    for (let i = d - 1; i >= 0; i--) {
      w[off + i + 1] += (po * w[off + i] * (i + 1)) / (d + 1);
      w[off + i] = (pz * w[off + i] * (d - i)) / (d + 1);
    }
  }

  private unwind(off: number, d: number, k: number): void {
    const { feat, zero, one, w } = this;
    const o = one[off + k];
    const z = zero[off + k];
    let next = w[off + d];
    for (let i = d - 1; i >= 0; i--) {
      if (o !== 0) {
        const tmp = w[off + i];
        w[off + i] = (next * (d + 1)) / ((i + 1) * o);
        next = tmp - (w[off + i] * z * (d - i)) / (d + 1);
      } else {
        w[off + i] = (w[off + i] * (d + 1)) / (z * (d - i));
      }
    }
    for (let i = k; i < d; i++) {
      feat[off + i] = feat[off + i + 1];
      zero[off + i] = zero[off + i + 1];
      one[off + i] = one[off + i + 1];
    }
  }

  private unwoundSum(off: number, d: number, k: number): number {
    const { zero, one, w } = this;
    const o = one[off + k];
    const z = zero[off + k];
    let next = w[off + d];
    let total = 0;
    for (let i = d - 1; i >= 0; i--) {
      if (o !== 0) {
        const tmp = (next * (d + 1)) / ((i + 1) * o);
        total += tmp;
        next = w[off + i] - (tmp * z * (d - i)) / (d + 1);
      } else {
        total += w[off + i] / z / ((d - i) / (d + 1));
      }
    }
    return total;
  }
}
