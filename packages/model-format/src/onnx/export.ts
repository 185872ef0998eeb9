import type { LogisticModel } from "../logistic-model";
import type { KeelModel } from "../model";
import type { TreeEnsembleModel } from "../tree-model";
import { AttributeType, DataType, modelProtoType } from "./onnx-proto";

/** The one input every exported model declares: float32 `[N, F]`, columns in `features` order. */
export const ONNX_INPUT = "features";
/**
 * The one output every exported model declares: float32 `[N, 1]`, P(y = 1) for binary
 * classifiers and the predicted value for regression. One output name for every kind of
 * model keeps the serving side free of per-model output handling.
 */
export const ONNX_OUTPUT = "score";

const IR_VERSION = 8;
const ONNX_OPSET = 17;
const ML_OPSET = 3;

type Attr = Record<string, unknown>;
type Node = {
  input: string[];
  output: string[];
  op_type: string;
  name: string;
  domain?: string;
  attribute?: Attr[];
};

function attr(
  name: string,
  value: number | string | number[] | string[],
  kind: "float" | "int" = "int",
): Attr {
  if (typeof value === "string") return { name, type: AttributeType.STRING, s: Buffer.from(value) };
  if (typeof value === "number") {
    return kind === "float"
      ? { name, type: AttributeType.FLOAT, f: value }
      : { name, type: AttributeType.INT, i: value };
  }
  if (value.length > 0 && typeof value[0] === "string") {
    return { name, type: AttributeType.STRINGS, strings: (value as string[]).map((s) => Buffer.from(s)) };
  }
  return kind === "float"
    ? { name, type: AttributeType.FLOATS, floats: value as number[] }
    : { name, type: AttributeType.INTS, ints: value as number[] };
}

function tensorValue(name: string, elemType: number, dims: Array<number | string>) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** Serialises a trained model to ONNX bytes (see ONNX_INPUT / ONNX_OUTPUT for its signature). */
export function exportOnnx(model: KeelModel): Uint8Array {
  const F = model.features.length;
  const { nodes, initializers, ml } = model.kind === "logistic" ? logisticGraph(model) : treeGraph(model);
  const Model = modelProtoType();
  const message = Model.fromObject({
    ir_version: IR_VERSION,
    producer_name: "keel",
    producer_version: "0.1.0",
    opset_import: [
      { domain: "", version: ONNX_OPSET },
      ...(ml ? [{ domain: "ai.onnx.ml", version: ML_OPSET }] : []),
    ],
    metadata_props: [
      { key: "keel.kind", value: model.kind },
      { key: "keel.features", value: JSON.stringify(model.features) },
    ],
    graph: {
      name: `keel_${model.kind}`,
      node: nodes,
      initializer: initializers,
      input: [tensorValue(ONNX_INPUT, DataType.FLOAT, ["N", F])],
      output: [tensorValue(ONNX_OUTPUT, DataType.FLOAT, ["N", 1])],
    },
  });
  return Model.encode(message).finish();
}

interface Graph {
  nodes: Node[];
  initializers: Attr[];
  ml: boolean;
}

/** score = Sigmoid(features @ W + b) */
function logisticGraph(model: LogisticModel): Graph {
  const F = model.features.length;
  return {
    ml: false,
    initializers: [
      { name: "W", data_type: DataType.FLOAT, dims: [F, 1], float_data: model.weights },
      { name: "B", data_type: DataType.FLOAT, dims: [1], float_data: [model.bias] },
    ],
    nodes: [
      { op_type: "MatMul", name: "matmul", input: [ONNX_INPUT, "W"], output: ["xw"] },
      { op_type: "Add", name: "add", input: ["xw", "B"], output: ["logit"] },
      { op_type: "Sigmoid", name: "sigmoid", input: ["logit"], output: [ONNX_OUTPUT] },
    ],
  };
}

/**
 * Trees as ai.onnx.ml TreeEnsembleRegressor (regression) or TreeEnsembleClassifier with a
 * LOGISTIC post-transform (binary), whose `probabilities` [N, 2] is sliced to column 1.
 */
function treeGraph(model: TreeEnsembleModel): Graph {
  const n = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    modes: [] as string[],
  };
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const leaf = { treeIds: [] as number[], nodeIds: [] as number[], weights: [] as number[] };
  model.trees.forEach((t, ti) => {
    for (let k = 0; k < t.feature.length; k++) {
      const isLeaf = t.feature[k] < 0;
      n.treeIds.push(ti);
      n.nodeIds.push(k);
      n.featureIds.push(isLeaf ? 0 : t.feature[k]);
      n.modes.push(isLeaf ? "LEAF" : "BRANCH_LEQ");
      values.push(isLeaf ? 0 : t.threshold[k]);
      trueIds.push(isLeaf ? 0 : t.left[k]);
      falseIds.push(isLeaf ? 0 : t.right[k]);
      if (isLeaf) {
        leaf.treeIds.push(ti);
        leaf.nodeIds.push(k);
        leaf.weights.push(t.value[k]);
      }
    }
  });
  const common = [
    attr("nodes_treeids", n.treeIds),
    attr("nodes_nodeids", n.nodeIds),
    attr("nodes_featureids", n.featureIds),
    attr("nodes_modes", n.modes),
    attr("nodes_values", values, "float"),
    attr("nodes_truenodeids", trueIds),
    attr("nodes_falsenodeids", falseIds),
    // NaN (the only value failing both `<=` and its negation) goes to the false branch, as in TS.
    attr(
      "nodes_missing_value_tracks_true",
      trueIds.map(() => 0),
    ),
    attr("base_values", [model.baseScore], "float"),
  ];
  const zeros = leaf.treeIds.map(() => 0);
  if (model.objective === "regression") {
    return {
      ml: true,
      initializers: [],
      nodes: [
        {
          op_type: "TreeEnsembleRegressor",
          domain: "ai.onnx.ml",
          name: "trees",
          input: [ONNX_INPUT],
          output: [ONNX_OUTPUT],
          attribute: [
            ...common,
            attr("n_targets", 1),
            attr("target_treeids", leaf.treeIds),
            attr("target_nodeids", leaf.nodeIds),
            attr("target_ids", zeros),
            attr("target_weights", leaf.weights, "float"),
            attr("aggregate_function", "SUM"),
            attr("post_transform", "NONE"),
          ],
        },
      ],
    };
  }
  return {
    ml: true,
    initializers: [
      { name: "slice_starts", data_type: DataType.INT64, dims: [1], int64_data: [1] },
      { name: "slice_ends", data_type: DataType.INT64, dims: [1], int64_data: [2] },
      { name: "slice_axes", data_type: DataType.INT64, dims: [1], int64_data: [1] },
    ],
    nodes: [
      {
        op_type: "TreeEnsembleClassifier",
        domain: "ai.onnx.ml",
        name: "trees",
        input: [ONNX_INPUT],
        output: ["label", "probabilities"],
        attribute: [
          ...common,
          attr("class_treeids", leaf.treeIds),
          attr("class_nodeids", leaf.nodeIds),
          attr("class_ids", zeros),
          attr("class_weights", leaf.weights, "float"),
          attr("classlabels_int64s", [0, 1]),
          attr("post_transform", "LOGISTIC"),
        ],
      },
      {
        op_type: "Slice",
        name: "positive_class",
        input: ["probabilities", "slice_starts", "slice_ends", "slice_axes"],
        output: [ONNX_OUTPUT],
      },
    ],
  };
}
