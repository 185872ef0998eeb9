import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import type { Clock, Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Hono } from "hono";
import { mountGovernanceRoutes } from "./governance-routes";
import { mountMlflowRegistryRoutes } from "./mlflow-routes";
import type { DeploymentLister, ModelPublisher, RunReader } from "./ports";
import { ProvenanceService } from "./provenance-service";
import { RegistryService } from "./registry-service";

/** The platform services the registry is built on (a subset of the app's PlatformDeps). */
export interface RegistryDeps {
  /** Its section of KeelConfig. */
  config: { registry: { autoApproveStages: string[] } };
  store: MetadataStore;
  artifacts: ArtifactStore;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
}

export interface RegistryIntegrations {
  /** The tracking service, for run metrics (checks), artifact locations and lineage. */
  runs?: RunReader;
  /** The serving area's deployments, for lineage and model cards. */
  deployments?: DeploymentLister;
  /** Publishes versions approved into a protected stage or alias (also settable later: setPublisher). */
  publisher?: ModelPublisher;
}

export interface RegistryModule {
  name: "registry";
  routes(app: Hono): void;
  service: RegistryService;
  provenance: ProvenanceService;
}

/**
 * The model registry as a platform module: MLflow's registry API under /api/2.0/mlflow and
 * governance, lineage and model cards under /api/v1. Model cards are regenerated after
 * every change to a version.
 */
export function createRegistryModule(
  deps: RegistryDeps,
  integrations: RegistryIntegrations = {},
): RegistryModule {
  const service = new RegistryService({
    store: deps.store,
    audit: deps.audit,
    clock: deps.clock,
    log: deps.log,
    runs: integrations.runs,
    artifacts: deps.artifacts,
    publisher: integrations.publisher,
    autoApproveStages: deps.config.registry.autoApproveStages,
  });
  const provenance = new ProvenanceService(service, deps.artifacts, integrations.deployments);
  service.onVersionChange(async (model, version) => {
    await provenance.refreshCard(model, version);
  });
  return {
    name: "registry",
    service,
    provenance,
    routes(app) {
      mountMlflowRegistryRoutes(app, service);
      mountGovernanceRoutes(app, service, provenance);
    },
  };
}
