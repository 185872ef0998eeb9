export { MonitoringError } from "./errors";
export {
  deploymentNameSchema,
  ParquetPredictionLog,
  type PredictionLogEntry,
  type PredictionLogEntryInput,
  predictionLogEntrySchema,
  type PredictionLogOptions,
  type PredictionSink,
} from "./prediction-log";
export { kolmogorovQ, ksTwoSample, meanStd, PSI_EPSILON, psi } from "./drift-stats";
export {
  computeDriftReport,
  type DriftReport,
  driftReportSchema,
  type DriftThresholds,
  driftThresholdsSchema,
  featureColumns,
} from "./drift-report";
export { renderDriftHtml } from "./report-html";
export { artifactBaselineReader, type BaselineReader, type ServedModel } from "./baseline";
export { type DriftOptions, type MonitoringDeps, MonitoringService, parseWindow } from "./drift-service";
export { monitoringRoutes, reportHtmlPath } from "./monitoring-routes";
export { createMonitoringModule, type MonitoringModule, type MonitoringModuleOptions } from "./monitoring-module";
