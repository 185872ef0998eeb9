import { join } from "node:path";
import { createArtifactStore, createArtifactsModule } from "@keel/artifacts";
import { createAuditModule, StoreAuditLog } from "@keel/audit";
import { type Clock, createLogger, type KeelConfig, systemClock } from "@keel/core";
import { createFeaturesModule, type FeaturesService } from "@keel/features";
import { DynamoDbMetadataStore, type MetadataStore } from "@keel/metadata";
import { artifactBaselineReader, createMonitoringModule, type MonitoringService } from "@keel/monitoring";
import { createPipelinesModule, type PipelineDefinition } from "@keel/pipelines";
import { createRegistryModule, type RegistryService } from "@keel/registry";
import {
  createServingModule,
  DEFAULT_RETENTION_DAYS,
  loadServingConfig,
  registryApprovalReader,
  registryModelResolver,
  type ServingService,
} from "@keel/serving";
import { createTrackingModule, type TrackingService } from "@keel/tracking";
import { explainTensor, parseModel } from "@keel/train";
import type { Hono } from "hono";
import { createApp } from "./app";
import { deploymentsServing } from "./deployment-lineage";
import type { KeelModule, PlatformDeps } from "./module";

export interface Platform {
  deps: PlatformDeps;
  modules: KeelModule[];
  app: Hono;
  /** Domain services for in-process callers (other modules, the CLI, tests). */
  services: {
    tracking: TrackingService;
    registry: RegistryService;
    monitoring: MonitoringService;
    features: FeaturesService;
  };
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  /** Overrides the metadata store (tests); otherwise DynamoDB at config.dynamodbEndpoint. */
  store?: MetadataStore;
  clock?: Clock;
  defaultPrincipal?: string;
  /** The project's pipelines, registered at start (in AWS: the ones `stacks/Pipelines.ts` deployed). */
  pipelines?: PipelineDefinition[];
}

/**
 * Builds every adapter from the config (the one place that chooses backends) and every
 * domain module on top of them, in dependency order.
 */
export async function createPlatform(config: KeelConfig, opts: PlatformOptions = {}): Promise<Platform> {
  const log = createLogger();
  const clock = opts.clock ?? systemClock;
  const store =
    opts.store ??
    new DynamoDbMetadataStore({
      table: config.table,
      endpoint: config.dynamodbEndpoint,
      region: config.region,
    });
  const artifacts = createArtifactStore(config.artifactRoot, { region: config.region });
  const audit = new StoreAuditLog(store, clock);
  const deps: PlatformDeps = { config, store, artifacts, audit, clock, log };

  const modules: KeelModule[] = [];
  modules.push(createArtifactsModule({ artifacts, audit }));
  const tracking = createTrackingModule({ store, artifacts, audit, clock, config });
  modules.push(tracking);
  // Lineage lists a version's deployments; serving is built later (it resolves models through
  // the registry), so the lister is bound once serving exists.
  let servingDeployments: ServingService["deployments"] | undefined;
  const registry = createRegistryModule(deps, {
    runs: tracking.service,
    deployments: {
      async listDeployments(name, version) {
        return servingDeployments
          ? deploymentsServing(await servingDeployments.list(), name, String(version))
          : [];
      },
    },
  });
  modules.push(registry);
  modules.push(createPipelinesModule(deps, { tracking: tracking.service, pipelines: opts.pipelines }));
  const features = createFeaturesModule(deps);
  modules.push(features);
  // A deployment's drift baseline is the profile its served model version's run logged.
  const monitoring = createMonitoringModule(deps, {
    baselines: artifactBaselineReader(artifacts, async (_deployment, served) => {
      if (!served) return undefined;
      const { runId } = await registry.service.getModelVersion(served.model, served.version);
      const { run } = await tracking.service.getRun(runId);
      return `${run.info.experiment_id}/${runId}/artifacts/baseline/profile.json`;
    }),
    predictionLog: {
      piiKey: config.predictionLogKeySecret
        ? { kind: "secret", secretId: config.predictionLogKeySecret }
        : { kind: "file", path: join(config.dataDir, "keys", "prediction-log.key") },
    },
    retention: {
      of: async (d) => (await servingDeployments?.find(d))?.retention_days,
      defaultDays: DEFAULT_RETENTION_DAYS,
      sweepOnStart: !config.artifactRoot.startsWith("s3://"),
    },
  });
  modules.push(monitoring);
  const servingEnv = loadServingConfig();
  const serving = createServingModule(deps, {
    resolver: registryModelResolver(registry.service),
    approvals: registryApprovalReader(registry.service, artifacts, store),
    publish: {
      target: createArtifactStore(
        servingEnv.modelPublishRoot ?? servingEnv.modelRepository ?? join(config.dataDir, "models"),
        { region: config.region },
      ),
      sourcePath: async (m, v) =>
        (await registry.service.resolve(m, v)).storageLocation.replace(/^mlflow-artifacts:\/+/, ""),
    },
    features: features.service,
    predictions: monitoring.predictionSink,
    explainer: { explain: (model, data, shape) => explainTensor(parseModel(model), data, shape) },
  });
  servingDeployments = serving.service.deployments;
  modules.push(serving);
  modules.push(createAuditModule({ audit }));

  const app = createApp(modules, { defaultPrincipal: opts.defaultPrincipal });
  return {
    deps,
    modules,
    app,
    services: {
      tracking: tracking.service,
      registry: registry.service,
      monitoring: monitoring.service,
      features: features.service,
    },
    async start() {
      for (const m of modules) await m.start?.();
    },
    async stop() {
      for (const m of [...modules].reverse()) await m.stop?.();
    },
  };
}
