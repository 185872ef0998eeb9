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
  type GbdtParams,
  type GbdtParamsInput,
  type GbdtResult,
  gbdtParamsSchema,
  type IterationCallback,
  trainGbdt,
} from "./gbdt";
export {
  type LogisticParamsInput,
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
export { readParquetDataset } from "./parquet-dataset";
export { profileDataset } from "./profile-dataset";
export { progressReporter, TrainingStopped } from "./progress-reporter";
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
