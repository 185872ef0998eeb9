export {
  artifactBaselineReader,
  type BaselineReader,
  runBaselineReader,
  runProfilePath,
  type ServedModel,
  type TrainingRun,
} from "./baseline";
export {
  computeDriftReport,
  type DriftReport,
  type DriftThresholds,
  driftReportSchema,
  driftThresholdsSchema,
  featureColumns,
} from "./drift-report";
export { type DriftOptions, type MonitoringDeps, MonitoringService, parseWindow } from "./drift-service";
export { kolmogorovQ, ksTwoSample, meanStd, PSI_EPSILON, psi } from "./drift-stats";
export { MonitoringError } from "./errors";
export {
  createMonitoringModule,
  type MonitoringModule,
  type MonitoringModuleOptions,
} from "./monitoring-module";
export { monitoringRoutes, reportHtmlPath } from "./monitoring-routes";
export { loadPiiKey, type PiiKeySource, type PiiSpec, piiSpecSchema, protectInputs, pseudonym } from "./pii";
export {
  deploymentNameSchema,
  ParquetPredictionLog,
  type PredictionLogEntry,
  type PredictionLogEntryInput,
  type PredictionLogOptions,
  type PredictionSink,
  predictionLogEntrySchema,
} from "./prediction-log";
export { renderDriftHtml } from "./report-html";
