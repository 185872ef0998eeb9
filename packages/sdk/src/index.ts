export { AuditClient } from "./audit";
export { type CallArgs, callRoute, routePath } from "./call";
export type { Caller } from "./caller";
export { KeelClient } from "./client";
export { DeploymentsClient } from "./deployments";
export { isKeelApiError, KeelApiError, KeelConnectionError } from "./errors";
export { FeaturesClient } from "./features";
export {
  type ClientOptions,
  type HttpOptions,
  HttpTransport,
  type InProcessOptions,
  type Query,
  queryString,
} from "./http";
export { MonitoringClient } from "./monitoring";
export { PipelinesClient } from "./pipelines";
export { RegistryClient } from "./registry";
export { ServingClient } from "./serving";
export {
  type ClientMetric,
  type ClientRun,
  type MetricInput,
  type Page,
  type SearchRunsOptions,
  TrackingClient,
} from "./tracking";
