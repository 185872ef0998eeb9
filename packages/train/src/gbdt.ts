import { leafOf, sigmoid, type Tree, type TreeEnsembleModel } from "@keel/model-format";
import { z } from "zod";
import { binRows, computeBins, type FeatureBins } from "./binning";
import { assertBinaryLabels, type Column, type Dataset, validateDataset } from "./dataset";
import { TrainError } from "./errors";
import { Random } from "./random";

export const gbdtParamsSchema = z
  .object({
    objective: z.enum(["binary", "regression"]).default("binary"),
    rounds: z.number().int().min(1).max(100_000).default(100),
    learningRate: z.number().gt(0).max(1).default(0.1),
    /** Maximum depth of a tree (root = depth 0). */
    maxDepth: z.number().int().min(1).max(32).default(6),
    maxLeaves: z.number().int().min(2).max(4096).default(31),
    minRowsPerLeaf: z.number().int().min(1).default(20),
    /** Fraction of rows drawn (without replacement) for each tree. */
    subsample: z.number().gt(0).max(1).default(1),
    /** L2 penalty on leaf values (XGBoost's lambda). */
    l2: z.number().min(0).default(1),
    maxBins: z.number().int().min(2).max(256).default(255),
    /** Stop when the validation loss has not improved for this many rounds (0 = never). */
    earlyStoppingRounds: z.number().int().min(0).default(10),
    seed: z.number().int().default(0),
  })
  .strict();
export type GbdtParams = z.infer<typeof gbdtParamsSchema>;
export type GbdtParamsInput = z.input<typeof gbdtParamsSchema>;

/** Called after every round with the metrics of that round (train/valid loss). */
export type IterationCallback = (iteration: number, metrics: Record<string, number>) => void;

export interface GbdtResult {
  model: TreeEnsembleModel;
  /** Rounds kept (early stopping truncates to the best validation round). */
  bestIteration: number;
  history: Array<Record<string, number>>;
}

/** Hessians below this make a child too "light" to split on (guards near-pure logistic leaves). */
const MIN_HESSIAN = 1e-3;
const MIN_GAIN = 1e-10;

interface Split {
  feature: number;
  bin: number;
  gain: number;
  leftG: number;
  leftH: number;
}

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  hist: Float64Array;
  g: number;
  h: number;
  split?: Split;
}

/**
 * Histogram-based gradient boosting (leaf-wise growth as LightGBM does, XGBoost's
 * second-order gain and L2-regularised leaves). Deterministic for a seed: the only random
 * choices are the seeded row subsamples and bin-edge samples, and the order of every sum
 * is fixed.
 */
export function trainGbdt(
  data: Dataset,
  paramsIn: GbdtParamsInput = {},
  opts: TrainOptions = {},
): GbdtResult {
  const params = gbdtParamsSchema.parse(paramsIn);
  const n = validateDataset(data);
  if (params.objective === "binary") assertBinaryLabels(data.label);
  if (opts.valid) {
    validateDataset(opts.valid, "validation data");
    if (opts.valid.features.join("\0") !== data.features.join("\0")) {
      throw new TrainError(
        "INVALID_PARAMETER_VALUE",
        "validation data must have the training features in order",
      );
    }
  }
  const F = data.features.length;
  const bins = computeBins(data.columns, params.maxBins, params.seed);
  const binned = binRows(data.columns, bins);
  const y = data.label;
  const baseScore = Math.fround(initialScore(y, params.objective));
  const margin = new Float64Array(n).fill(baseScore);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const valid = opts.valid;
  const validMargin = valid ? new Float64Array(valid.label.length).fill(baseScore) : undefined;
  const validRow = new Float64Array(F);
  const rng = new Random(params.seed);
  const grower = new TreeGrower(binned, F, bins, grad, hess, params);

  const trees: Tree[] = [];
  const history: Array<Record<string, number>> = [];
  let best = { loss: Number.POSITIVE_INFINITY, round: -1 };
  for (let round = 0; round < params.rounds; round++) {
    gradients(params.objective, y, margin, grad, hess);
    const rows =
      params.subsample < 1 ? rng.sample(n, Math.max(1, Math.round(n * params.subsample))) : allRows(n);
    const tree = grower.grow(rows);
    trees.push(tree);
    for (let i = 0; i < n; i++) margin[i] += tree.value[grower.leafOfBinned(tree, i)];
    const metrics: Record<string, number> = {
      [`train_${lossName(params.objective)}`]: loss(params.objective, y, margin),
    };
    if (valid && validMargin) {
      for (let i = 0; i < validMargin.length; i++) {
        for (let f = 0; f < F; f++) validRow[f] = valid.columns[f][i];
        validMargin[i] += tree.value[leafOf(tree, validRow)];
      }
      const vl = loss(params.objective, valid.label, validMargin);
      metrics[`valid_${lossName(params.objective)}`] = vl;
      if (vl < best.loss - 1e-12) best = { loss: vl, round };
    }
    history.push(metrics);
    opts.onIteration?.(round, metrics);
    if (valid && params.earlyStoppingRounds > 0 && round - best.round >= params.earlyStoppingRounds) break;
  }
  const kept = valid && params.earlyStoppingRounds > 0 && best.round >= 0 ? best.round + 1 : trees.length;
  return {
    model: {
      kind: "gbdt",
      objective: params.objective,
      features: [...data.features],
      baseScore,
      trees: trees.slice(0, kept),
    },
    bestIteration: kept,
    history,
  };
}

export interface TrainOptions {
  /** Held-out rows for per-round validation loss and early stopping. */
  valid?: Dataset;
  onIteration?: IterationCallback;
}

function allRows(n: number): Uint32Array {
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return rows;
}

function initialScore(y: Column, objective: GbdtParams["objective"]): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i];
  const mean = sum / y.length;
  return objective === "binary" ? Math.log(mean / (1 - mean)) : mean;
}

function gradients(
  objective: GbdtParams["objective"],
  y: Column,
  margin: Float64Array,
  g: Float64Array,
  h: Float64Array,
) {
  if (objective === "binary") {
    for (let i = 0; i < y.length; i++) {
      const p = sigmoid(margin[i]);
      g[i] = p - y[i];
      h[i] = Math.max(p * (1 - p), 1e-16);
    }
  } else {
    for (let i = 0; i < y.length; i++) {
      g[i] = margin[i] - y[i];
      h[i] = 1;
    }
  }
}

export function lossName(objective: GbdtParams["objective"]): string {
  return objective === "binary" ? "logloss" : "rmse";
}

/** Mean log loss on margins (binary) or RMSE (regression). */
export function loss(objective: GbdtParams["objective"], y: Column, margin: Float64Array): number {
  let s = 0;
  if (objective === "binary") {
    for (let i = 0; i < y.length; i++) {
      // log(1 + e^-m) for y=1, log(1 + e^m) for y=0, computed without overflow.
      const m = y[i] === 1 ? margin[i] : -margin[i];
      s += m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
    }
    return s / y.length;
  }
  for (let i = 0; i < y.length; i++) s += (margin[i] - y[i]) ** 2;
  return Math.sqrt(s / y.length);
}

/** Grows one tree on a set of rows from the shared bin matrix and gradient arrays. */
class TreeGrower {
  private readonly stride: number;
  private readonly pool: Float64Array[] = [];
  private readonly thresholdBin: number[] = [];
  private scratchRows = new Uint32Array(0);

  constructor(
    private readonly binned: Uint8Array,
    private readonly F: number,
    private readonly bins: FeatureBins[],
    private readonly grad: Float64Array,
    private readonly hess: Float64Array,
    private readonly params: GbdtParams,
  ) {
    // 3 doubles (gradient, hessian, count) per bin; every feature gets the same 256-bin block.
    this.stride = 256 * 3;
  }

  /** Leaf reached by training row i, using bins (same decisions as the float thresholds). */
  leafOfBinned(tree: Tree, i: number): number {
    const base = i * this.F;
    let node = 0;
    while (tree.feature[node] >= 0) {
      node =
        this.binned[base + tree.feature[node]] <= this.thresholdBin[node]
          ? tree.left[node]
          : tree.right[node];
    }
    return node;
  }

  grow(rows: Uint32Array): Tree {
    const tree: Tree = { feature: [], threshold: [], left: [], right: [], value: [], cover: [] };
    this.thresholdBin.length = 0;
    const newNode = (cover: number) => {
      tree.feature.push(-1);
      tree.threshold.push(0);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.value.push(0);
      tree.cover.push(cover);
      this.thresholdBin.push(0);
      return tree.feature.length - 1;
    };
    const rootHist = this.histogram(rows, 0, rows.length);
    let g = 0;
    let h = 0;
    for (let k = 0; k < rows.length; k++) {
      g += this.grad[rows[k]];
      h += this.hess[rows[k]];
    }
    const root: Leaf = {
      node: newNode(rows.length),
      start: 0,
      end: rows.length,
      depth: 0,
      hist: rootHist,
      g,
      h,
    };
    root.split = this.bestSplit(root);
    const open: Leaf[] = [root];
    const done: Leaf[] = [];
    let leaves = 1;
    while (leaves < this.params.maxLeaves) {
      let pick = -1;
      for (let i = 0; i < open.length; i++) {
        const s = open[i].split;
        if (s && (pick < 0 || s.gain > (open[pick].split as Split).gain)) pick = i;
      }
      if (pick < 0) break;
      const leaf = open.splice(pick, 1)[0];
      const [l, r] = this.split(tree, leaf, rows, newNode);
      leaves++;
      for (const child of [l, r]) {
        child.split = child.depth < this.params.maxDepth ? this.bestSplit(child) : undefined;
        if (child.split) open.push(child);
        else done.push(child);
      }
    }
    const lr = this.params.learningRate;
    for (const leaf of [...open, ...done]) {
      tree.value[leaf.node] = Math.fround((-leaf.g / (leaf.h + this.params.l2)) * lr);
      this.pool.push(leaf.hist);
    }
    return tree;
  }

  private split(tree: Tree, leaf: Leaf, rows: Uint32Array, newNode: (cover: number) => number): [Leaf, Leaf] {
    const s = leaf.split as Split;
    const F = this.F;
    // Stable partition of the leaf's row range (left rows first, both halves keep ascending
    // row order), so histogram passes read the bin matrix and gradients front to back.
    const scratch = this.scratch(rows.length);
    let i = leaf.start;
    let r = 0;
    for (let k = leaf.start; k < leaf.end; k++) {
      const row = rows[k];
      if (this.binned[row * F + s.feature] <= s.bin) rows[i++] = row;
      else scratch[r++] = row;
    }
    rows.set(scratch.subarray(0, r), i);
    const mid = i;
    const leftCount = mid - leaf.start;
    const rightCount = leaf.end - mid;
    const ln = newNode(leftCount);
    const rn = newNode(rightCount);
    tree.feature[leaf.node] = s.feature;
    tree.threshold[leaf.node] = this.bins[s.feature].edges[s.bin];
    this.thresholdBin[leaf.node] = s.bin;
    tree.left[leaf.node] = ln;
    tree.right[leaf.node] = rn;
    // Histogram subtraction: build the smaller child, derive the larger from the parent.
    const leftSmaller = leftCount <= rightCount;
    const small = leftSmaller ? this.histogram(rows, leaf.start, mid) : this.histogram(rows, mid, leaf.end);
    const large = leaf.hist;
    for (let k = 0; k < large.length; k++) large[k] -= small[k];
    const lh = leftSmaller ? small : large;
    const rh = leftSmaller ? large : small;
    const depth = leaf.depth + 1;
    return [
      { node: ln, start: leaf.start, end: mid, depth, hist: lh, g: s.leftG, h: s.leftH },
      { node: rn, start: mid, end: leaf.end, depth, hist: rh, g: leaf.g - s.leftG, h: leaf.h - s.leftH },
    ];
  }

  private scratch(n: number): Uint32Array {
    if (this.scratchRows.length < n) this.scratchRows = new Uint32Array(n);
    return this.scratchRows;
  }

  private histogram(rows: Uint32Array, start: number, end: number): Float64Array {
    const size = this.F * this.stride;
    const hist = this.pool.pop()?.fill(0) ?? new Float64Array(size);
    const { binned, grad, hess, F, stride } = this;
    for (let k = start; k < end; k++) {
      const r = rows[k];
      const g = grad[r];
      const h = hess[r];
      const base = r * F;
      for (let f = 0, off = 0; f < F; f++, off += stride) {
        const idx = off + binned[base + f] * 3;
        hist[idx] += g;
        hist[idx + 1] += h;
        hist[idx + 2] += 1;
      }
    }
    return hist;
  }

  private bestSplit(leaf: Leaf): Split | undefined {
    const { l2, minRowsPerLeaf } = this.params;
    const count = leaf.end - leaf.start;
    if (count < 2 * minRowsPerLeaf) return undefined;
    const parentScore = (leaf.g * leaf.g) / (leaf.h + l2);
    let best: Split | undefined;
    for (let f = 0; f < this.F; f++) {
      const nb = this.bins[f].edges.length + 1;
      const off = f * this.stride;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb - 1; b++) {
        const idx = off + b * 3;
        gl += leaf.hist[idx];
        hl += leaf.hist[idx + 1];
        cl += leaf.hist[idx + 2];
        if (cl < minRowsPerLeaf) continue;
        const cr = count - cl;
        if (cr < minRowsPerLeaf) break;
        const hr = leaf.h - hl;
        if (hl < MIN_HESSIAN || hr < MIN_HESSIAN) continue;
        const gr = leaf.g - gl;
        const gain = (gl * gl) / (hl + l2) + (gr * gr) / (hr + l2) - parentScore;
        if (gain > MIN_GAIN && (!best || gain > best.gain)) {
          best = { feature: f, bin: b, gain, leftG: gl, leftH: hl };
        }
      }
    }
    return best;
  }
}
