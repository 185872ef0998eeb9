export { TrackingError } from "./errors";
export { createTrackingModule, type TrackingModule } from "./module";
export type { FrozenRuns } from "./ports";
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
export {
  EXPERIMENT_SEARCH,
  LOGGED_MODELS_TAG,
  RUN_SEARCH,
  type TrackingDeps,
  TrackingService,
  USER_TAG,
} from "./service";
export { LIMITS } from "./validation";
