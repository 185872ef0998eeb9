import { z } from "zod";

/**
 * One regression tree in flat arrays (node 0 is the root). Internal nodes send a row left
 * when `fround(x[feature]) <= threshold` (ONNX's BRANCH_LEQ on float input) and right
 * otherwise, NaN included. Leaves have feature -1 and carry `value` (already scaled by the
 * learning rate). `cover` is the number of training rows that reached the node; a parent's
 * cover is the sum of its children's, which TreeSHAP relies on.
 */
export const treeSchema = z.object({
  feature: z.array(z.number().int().min(-1)),
  threshold: z.array(z.number()),
  left: z.array(z.number().int()),
  right: z.array(z.number().int()),
  value: z.array(z.number()),
  cover: z.array(z.number().nonnegative()),
});
export type Tree = z.infer<typeof treeSchema>;

export const treeEnsembleSchema = z.object({
  kind: z.literal("gbdt"),
  objective: z.enum(["binary", "regression"]),
  features: z.array(z.string()).min(1),
  /** Initial margin added to every row (float32). */
  baseScore: z.number(),
  trees: z.array(treeSchema),
});
/** A trained gradient-boosted ensemble; its JSON form is stored next to the ONNX export. */
export type TreeEnsembleModel = z.infer<typeof treeEnsembleSchema>;

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** The leaf a row reaches; `x` is indexed by feature position. */
export function leafOf(tree: Tree, x: ArrayLike<number>): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    node = Math.fround(x[tree.feature[node]]) <= tree.threshold[node] ? tree.left[node] : tree.right[node];
  }
  return node;
}

/** The raw score before the link function: base score plus every tree's leaf. */
export function treeMargin(model: TreeEnsembleModel, x: ArrayLike<number>): number {
  let m = model.baseScore;
  for (const t of model.trees) m += t.value[leafOf(t, x)];
  return m;
}

/** Depth of the deepest leaf (root alone = 0). */
export function treeDepth(tree: Tree, node = 0): number {
  if (tree.feature[node] < 0) return 0;
  return 1 + Math.max(treeDepth(tree, tree.left[node]), treeDepth(tree, tree.right[node]));
}
