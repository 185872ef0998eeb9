import { auditRoutes } from "./audit";
import { backendRoutes } from "./backends";
import { consoleRoutes } from "./console";
import { deploymentRoutes } from "./deployments";
import { featureRoutes } from "./features";
import { governanceRoutes } from "./governance";
import { kserveRoutes } from "./kserve";
import { llmRoutes } from "./llm";
import { llmFeedbackRoutes } from "./llm-feedback";
import { llmOpsRoutes } from "./llm-ops";
import { meRoutes } from "./me";
import { mlflowAjaxRoutes } from "./mlflow-ajax";
import { artifactRoutes } from "./mlflow-artifacts";
import { authRoutes } from "./mlflow-auth";
import { evalDatasetRoutes } from "./mlflow-eval-datasets";
import { mlflowGraphqlRoutes } from "./mlflow-graphql";
import { loggedModelRoutes } from "./mlflow-logged-models";
import { registryRoutes } from "./mlflow-registry";
import { scorerRoutes } from "./mlflow-scorers";
import { traceRoutes } from "./mlflow-traces";
import { trackingRoutes } from "./mlflow-tracking";
import { monitoringRoutes } from "./monitoring";
import { pipelineEventRoutes } from "./pipeline-events";
import { pipelineRoutes } from "./pipelines";
import { platformRoutes } from "./platform";
import { ragRoutes } from "./rag";
import type { RouteSpec } from "./route";
import { tuningRoutes } from "./tuning";
import { validationRoutes } from "./validation";

/**
 * The contract's published version (`info.version` of the OpenAPI document). Bump the major
 * to publish a change that breaks a route (the compatibility check refuses it otherwise).
 */
export const CONTRACT_VERSION = "1.0.0";

/** Every route of Keel's HTTP API, by area. */
export const contract = {
  tracking: trackingRoutes,
  traces: traceRoutes,
  loggedModels: loggedModelRoutes,
  scorers: scorerRoutes,
  evalDatasets: evalDatasetRoutes,
  registry: registryRoutes,
  artifacts: artifactRoutes,
  governance: governanceRoutes,
  pipelines: pipelineRoutes,
  pipelineEvents: pipelineEventRoutes,
  features: featureRoutes,
  monitoring: monitoringRoutes,
  deployments: deploymentRoutes,
  backends: backendRoutes,
  kserve: kserveRoutes,
  llm: llmRoutes,
  llmFeedback: llmFeedbackRoutes,
  llmOps: llmOpsRoutes,
  audit: auditRoutes,
  auth: authRoutes,
  mlflowUi: mlflowAjaxRoutes,
  mlflowGraphql: mlflowGraphqlRoutes,
  platform: platformRoutes,
  me: meRoutes,
  console: consoleRoutes,
  rag: ragRoutes,
  tuning: tuningRoutes,
  validation: validationRoutes,
};

export const allRoutes: RouteSpec[] = Object.values(contract).flatMap((area) => Object.values(area));

type Contract = typeof contract;
type AnyContractRoute = { [A in keyof Contract]: Contract[A][keyof Contract[A]] }[keyof Contract];
/** Every route, by operationId (the SDK's `call("tracking.createRun", ...)`). */
export type RoutesById = { [R in AnyContractRoute as R["id"]]: R };
export type RouteId = keyof RoutesById;

export const routesById = Object.fromEntries(allRoutes.map((r) => [r.id, r])) as unknown as RoutesById;
