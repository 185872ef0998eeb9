export { TrainError } from "./errors";
export { Random } from "./random";
export { type Column, type Dataset, splitDataset, takeRows, toRowMajorFloat32, validateDataset } from "./dataset";
export {
  type GbdtParams,
  type GbdtParamsInput,
  type GbdtResult,
  gbdtParamsSchema,
  type IterationCallback,
  trainGbdt,
} from "./gbdt";
export { type LogisticModel, type LogisticParamsInput, logisticModelSchema, logisticParamsSchema, trainLogistic } from "./logistic";
export { type Tree, type TreeEnsembleModel, sigmoid, treeEnsembleSchema } from "./tree-model";
export { isClassifier, type KeelModel, keelModelSchema, margin, parseModel, predict, predictRow } from "./model";
export { auc, type BinaryMetrics, evaluateBinary, evaluateRegression, logloss, type RegressionMetrics } from "./metrics";
export { type Explanation, explainRow, explainRows, explanationBase } from "./explain";
export { expectedMargin, treeShap } from "./tree-shap";
export { exportOnnx, ONNX_INPUT, ONNX_OUTPUT } from "./onnx/export";
export { type InputSchema, inputSchema, mlmodelYaml, modelArtifacts } from "./model-package";
export {
  type BaselineProfile,
  baselineProfileSchema,
  type FeatureProfile,
  featureProfileSchema,
  profileBin,
  profileDataset,
} from "./profile";
export { MemoryTrackingLogger, MlflowRestLogger, type MlflowRunRef, type TrackingLogger } from "./tracking";
export { readParquetDataset } from "./parquet-dataset";
export { type TrainOutcome, type TrainSpec, trainModel, trainSpecSchema } from "./train-run";
export { type TrainStepDeps, type TrainStepInput, type TrainStepOutput, trainHandler, trainStepInputSchema } from "./train-handler";
