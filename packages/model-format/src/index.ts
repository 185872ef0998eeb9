export { ModelFormatError } from "./errors";
export {
  type Explanation,
  explainRow,
  explainRows,
  explainTensor,
  explanationBase,
  type V2Tensor,
} from "./explain";
export { type LogisticModel, logisticModelSchema } from "./logistic-model";
export {
  type Column,
  isClassifier,
  type KeelModel,
  keelModelSchema,
  margin,
  parseModel,
  predict,
  predictRow,
} from "./model";
export { type InputSchema, inputSchema, mlmodelYaml, modelArtifacts } from "./model-package";
export { exportOnnx, ONNX_INPUT, ONNX_OUTPUT } from "./onnx/export";
export {
  BASELINE_PROFILE_ARTIFACT,
  type BaselineProfile,
  baselineProfileSchema,
  type FeatureProfile,
  featureProfileSchema,
  profileBin,
} from "./profile";
export { firstAtLeast } from "./sorted-search";
export {
  leafOf,
  sigmoid,
  type Tree,
  type TreeEnsembleModel,
  treeEnsembleSchema,
} from "./tree-model";
export { expectedMargin, treeShap } from "./tree-shap";
