import { isClassifier, type KeelModel } from "./model";
import { exportOnnx, ONNX_INPUT, ONNX_OUTPUT } from "./onnx/export";

/**
 * The files a trained model is stored as, under the run's `model/` artifact directory:
 * - `model/model.onnx`: the ONNX graph (input `features` float [N, F], output `score` float [N, 1]);
 * - `model/keel-model.json`: the model itself, for TreeSHAP/linear explanations in TypeScript;
 * - `model/input_schema.json`: the tensor signature and the feature order;
 * - `model/MLmodel`: MLflow's model descriptor (onnx flavour + signature), so MLflow tools list it.
 */
export interface InputSchema {
  inputs: Array<{ name: string; datatype: "FP32"; shape: [-1, number]; features: string[] }>;
  outputs: Array<{ name: string; datatype: "FP32"; shape: [-1, 1]; meaning: string }>;
}

export function inputSchema(model: KeelModel): InputSchema {
  return {
    inputs: [
      {
        name: ONNX_INPUT,
        datatype: "FP32",
        shape: [-1, model.features.length],
        features: [...model.features],
      },
    ],
    outputs: [
      {
        name: ONNX_OUTPUT,
        datatype: "FP32",
        shape: [-1, 1],
        meaning: isClassifier(model) ? "probability of the positive class" : "predicted value",
      },
    ],
  };
}

/** MLflow's MLmodel YAML for an ONNX model; JSON strings are valid YAML scalars. */
export function mlmodelYaml(model: KeelModel, runId: string, createdAt: Date): string {
  const F = model.features.length;
  const sig = (name: string, shape: number[]) =>
    JSON.stringify([{ type: "tensor", "tensor-spec": { dtype: "float32", shape }, name }]);
  return [
    "artifact_path: model",
    "flavors:",
    "  onnx:",
    "    code: null",
    "    data: model.onnx",
    "    onnx_version: 1.17.0",
    "    providers:",
    "    - CPUExecutionProvider",
    "  keel:",
    `    kind: ${model.kind}`,
    `    classifier: ${isClassifier(model)}`,
    "    model_json: keel-model.json",
    "    input_schema: input_schema.json",
    `run_id: ${JSON.stringify(runId)}`,
    "signature:",
    `  inputs: ${JSON.stringify(sig(ONNX_INPUT, [-1, F]))}`,
    `  outputs: ${JSON.stringify(sig(ONNX_OUTPUT, [-1, 1]))}`,
    `utc_time_created: ${JSON.stringify(createdAt.toISOString().replace("T", " ").replace("Z", ""))}`,
    "",
  ].join("\n");
}

/** Every file of the model directory, keyed by artifact path. */
export function modelArtifacts(
  model: KeelModel,
  runId: string,
  createdAt = new Date(),
): Map<string, Uint8Array> {
  const enc = (s: string) => new TextEncoder().encode(s);
  return new Map([
    ["model/model.onnx", exportOnnx(model)],
    ["model/keel-model.json", enc(JSON.stringify(model))],
    ["model/input_schema.json", enc(JSON.stringify(inputSchema(model), null, 2))],
    ["model/MLmodel", enc(mlmodelYaml(model, runId, createdAt))],
  ]);
}
