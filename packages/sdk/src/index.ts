export { KeelClient } from "./client";
export { isKeelApiError, KeelApiError } from "./errors";
export { type ClientOptions, HttpTransport, type Query } from "./http";
export {
  type ClientMetric,
  type ClientRun,
  type MetricInput,
  type Page,
  type SearchRunsOptions,
  TrackingClient,
} from "./tracking";
