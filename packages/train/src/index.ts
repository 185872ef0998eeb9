export {
  type Column,
  type Dataset,
  splitDataset,
  takeRows,
  toRowMajorFloat32,
  validateDataset,
} from "./dataset";
export { TrainError } from "./errors";
export {
  type Explanation,
  explainRow,
  explainRows,
  explainTensor,
  explanationBase,
  type V2Tensor,
} from "./explain";
export {
  type GbdtParams,
  type GbdtParamsInput,
  type GbdtResult,
  gbdtParamsSchema,
  type IterationCallback,
  trainGbdt,
} from "./gbdt";
export {
  type LogisticModel,
  type LogisticParamsInput,
  logisticModelSchema,
  logisticParamsSchema,
  trainLogistic,
} from "./logistic";
export {
  auc,
  type BinaryMetrics,
  evaluateBinary,
  evaluateRegression,
  logloss,
  type RegressionMetrics,
} from "./metrics";
export {
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
export { readParquetDataset } from "./parquet-dataset";
export {
  BASELINE_PROFILE_ARTIFACT,
  type BaselineProfile,
  baselineProfileSchema,
  type FeatureProfile,
  featureProfileSchema,
  profileBin,
  profileDataset,
} from "./profile";
export { Random } from "./random";
export { MemoryTrackingLogger, MlflowRestLogger, type MlflowRunRef, type TrackingLogger } from "./tracking";
export {
  type TrainStepDeps,
  type TrainStepInput,
  type TrainStepOutput,
  trainHandler,
  trainStepInputSchema,
} from "./train-handler";
export { type TrainOutcome, type TrainSpec, trainModel, trainSpecSchema } from "./train-run";
export { sigmoid, type Tree, type TreeEnsembleModel, treeEnsembleSchema } from "./tree-model";
export { expectedMargin, treeShap } from "./tree-shap";
