export {
  AthenaValidationEngine,
  type AthenaValidationOptions,
  TEMP_TABLE_PREFIX as ATHENA_TEMP_TABLE_PREFIX,
} from "./athena-engine";
export {
  type AthenaQueryOptions,
  athenaResultRows,
  type CommandSender,
  runAthenaQuery,
} from "./athena-query";
export {
  CONSISTENCY_ALERT_ACTION,
  CONSISTENCY_TAG,
  type ConsistencyCheck,
  type ConsistencyJobDeps,
  type ConsistencyJobResult,
  consistencyCheckSchema,
  runConsistencyJob,
} from "./consistency-job";
export { athenaDialect, duckDbDialect, type SqlDialect } from "./dialect";
export {
  type Column,
  type DuckDbEngineOptions,
  DuckDbValidationEngine,
  type OpenedDataset,
  type ValidationEngine,
} from "./engine";
export {
  type EvaluateOptions,
  type ExpectationResult,
  evaluateSuite,
  failureSummary,
  typeFamily,
  type ValidationReport,
} from "./evaluate";
export {
  type ColumnType,
  defineExpectations,
  type Expectation,
  type ExpectationInput,
  type ExpectationSuite,
  expectationName,
  isExpectationSuite,
  type ModelReference,
  type SuiteInput,
  suiteSchema,
} from "./expectations";
export { lambdaValidateStepKind } from "./lambda-step";
export { createValidationModule } from "./module";
export {
  type RecordedValidation,
  recordValidation,
  VALIDATION_TAG,
  VALIDATION_TAG_PREFIX,
  type ValidateStepOutput,
  validationTags,
} from "./record";
export { renderValidationHtml, validationMetrics, validationSummary } from "./report";
export {
  type ReferenceProfiles,
  resolveDataset,
  runValidation,
  type ValidateStepInput,
  type ValidationRunnerDeps,
  validateStepInputSchema,
  validateStepKind,
} from "./validate-step";
