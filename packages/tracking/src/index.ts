export { TrackingError } from "./errors";
export { createTrackingModule, type TrackingModule } from "./module";
export type { FrozenRuns } from "./ports";
export { LOGGED_MODELS_TAG } from "./run-logging";
export { USER_TAG } from "./run-service";
export { RUN_NAME_TAG } from "./run-store";
export * from "./schemas";
export { matchesAll, type Searchable } from "./search-eval";
export {
  type Clause,
  type Comparator,
  type Entity,
  type OrderBy,
  parseFilter,
  parseOrderBy,
  printFilter,
  type SearchTarget,
} from "./search-grammar";
export { TrackingService } from "./service";
export {
  COST_METADATA,
  type RecordedCall,
  TOKEN_USAGE_METADATA,
  TraceRecorder,
} from "./traces/trace-recorder";
export type { TrackingDeps } from "./tracking-context";
export { EXPERIMENT_SEARCH, RUN_SEARCH } from "./tracking-search";
export { createMlflowUiModule, type MlflowUiDeps } from "./ui-module";
export { LIMITS } from "./validation";
