import { join } from "node:path";
import { ArtifactProxyService, createArtifactsModule } from "@keel/artifacts";
import { createAuditModule, StoreAuditLog } from "@keel/audit";
import { type AccessControl, type AuthMode, createAccessControl } from "@keel/auth";
import { type Clock, createLogger, internalCallToken, type KeelConfig, systemClock } from "@keel/core";
import { createFeaturesModule, type FeaturesService, offlineRootOf } from "@keel/features";
import {
  createLlmModule,
  finetuneStepKind,
  type LlmService,
  registerAdapterStepKind,
  registryProductionRefusal,
} from "@keel/llm";
import type { MetadataStore } from "@keel/metadata";
import { explainTensor, parseModel } from "@keel/model-format";
import { createMonitoringModule, type MonitoringService, runBaselineReader } from "@keel/monitoring";
import {
  type BuiltinStepKind,
  createPipelinesModule,
  type PipelineDefinition,
  type PipelineService,
} from "@keel/pipelines";
import { createRagModule, type RagService } from "@keel/rag";
import {
  createRegistryModule,
  modelVersionJson,
  type RegistryService,
  registryAuditedState,
} from "@keel/registry";
import {
  createServingModule,
  DEFAULT_RETENTION_DAYS,
  deploymentAuditedState,
  registryModelResolver,
  type ServingService,
} from "@keel/serving";
import { createMlflowUiModule, createTrackingModule, type TrackingService } from "@keel/tracking";
import {
  createTuningModule,
  registryRegistrar,
  type TuningDefinition,
  type TuningService,
} from "@keel/tuning";
import { createValidationModule, DuckDbValidationEngine, validateStepKind } from "@keel/validation";
import type { Hono } from "hono";
import {
  createArtifacts,
  createFeatureStores,
  createMetadataStore,
  createMetricsSink,
  createModelPublishTarget,
  createPipelineExecutor,
  createPredictionLogStore,
  createRagLlmClient,
  createRagVectorStore,
  createScoringQueue,
} from "./adapters";
import { classAdmissionConfig } from "./admission-classes";
import { createApp } from "./app";
import { deploymentsServing } from "./deployment-lineage";
import { gatewayTracer } from "./llm-traces";
import type { KeelModule, PlatformDeps } from "./module";
import { ragVirtualModels } from "./rag-gateway";
import type { RequestGuardOptions } from "./request-guards";

export interface Platform {
  deps: PlatformDeps;
  modules: KeelModule[];
  app: Hono;
  /** Who may call what: users, roles, team permissions (see packages/auth). */
  access: AccessControl;
  /** Domain services for in-process callers (other modules, the CLI, tests). */
  services: {
    tracking: TrackingService;
    registry: RegistryService;
    monitoring: MonitoringService;
    features: FeaturesService;
    /** Registers pipeline files in process (never over HTTP: that would import a caller's path). */
    pipelines: PipelineService;
    /** Knowledge bases; `rag.chatCompletions` serves gateway models `rag:<kb>`. */
    rag: RagService;
    /** The LLM gateway (routes, keys, usage; `registerVirtualModels` for e.g. `rag:<kb>`). */
    llm: LlmService;
    /** Hyperparameter tuning: definitions registered in process, experiments run here. */
    tuning: TuningService;
  };
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  /** Overrides the metadata store (tests); otherwise DynamoDB at config.core.dynamodbEndpoint. */
  store?: MetadataStore;
  clock?: Clock;
  defaultPrincipal?: string;
  /** `users` for `keel dev --auth` (users store, tokens, team scoping); default `laptop`. */
  auth?: AuthMode;
  /** The project's pipelines, registered at start (in AWS: the ones `stacks/Pipelines.ts` deployed). */
  pipelines?: PipelineDefinition[];
  /** The project's tuning definitions, loaded at start (`keel dev`: the project's and `--tunings` files). */
  tunings?: TuningDefinition[];
  /** The Host headers to answer (`keel dev` sets them once it listens; none in AWS). */
  allowedHosts?: RequestGuardOptions["allowedHosts"];
}

/**
 * The composition root: builds every adapter from the config (through ./adapters, the one
 * place that chooses backends) and every domain module on top of them, in dependency order.
 */
export async function createPlatform(config: KeelConfig, opts: PlatformOptions = {}): Promise<Platform> {
  const log = createLogger(config.core.logLevel);
  const clock = opts.clock ?? systemClock;
  const store = opts.store ?? createMetadataStore(config);
  const artifacts = createArtifacts(config);
  const audit = new StoreAuditLog(store, clock);
  const deps: PlatformDeps = { config, store, artifacts, audit, clock, log };

  const modules: KeelModule[] = [];
  // Governance: registered versions' files are locked, and a promoted version's source run is
  // frozen; both answers come from the registry, built below (bound late, like servingDeployments).
  modules.push(
    createArtifactsModule({
      artifacts,
      audit,
      locks: { lockedBy: (path, o) => registry.service.artifactLock(path, o.subtree) },
    }),
  );
  const tracking = createTrackingModule({
    store,
    artifacts,
    audit,
    clock,
    config: { artifactRoot: config.artifacts.root },
    frozen: { isFrozen: (runId) => registry.service.frozenReason(runId) },
  });
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
  // The MLflow UI's /graphql and /ajax-api endpoints: tracking reads, registry lookups, artifact
  // reads and writes through the proxy (same locks and audit as the artifact API).
  const artifactRoot = config.artifacts.root.replace(/\/+$/, "");
  modules.push(
    createMlflowUiModule({
      tracking: tracking.service,
      artifacts: new ArtifactProxyService(artifacts, audit, {
        lockedBy: (path, o) => registry.service.artifactLock(path, o.subtree),
      }),
      modelVersions: {
        search: async (filter) =>
          (await registry.service.searchModelVersions({ filter })).versions.map(modelVersionJson),
        artifactPath: async (name, version) =>
          (await registry.service.getDownloadUri(name, version))
            .replace(/^mlflow-artifacts:\/+/, "")
            .replace(`${artifactRoot}/`, ""),
      },
      now: () => clock.now(),
    }),
  );
  // RAG calls the platform's own gateway in process unless KEEL_RAG_LLM_URL names another.
  // One vector store for knowledge bases and the gateway's semantic cache.
  const vectors = createRagVectorStore(config);
  const rag = createRagModule({
    store,
    clock,
    log,
    audit,
    vectors,
    llm: createRagLlmClient(config, () => ({
      request: (input, init) => Promise.resolve(app.request(input as string, init)),
    })),
    tracking: tracking.service,
  });
  modules.push(rag);
  // MLflow 3: a version registered from a logged model is listed on it (`mlflow.modelVersions`).
  registry.service.onVersionChange(async (model, version) => {
    const v = await registry.service.getModelVersion(model.name, version);
    await tracking.service.loggedModels.recordModelVersion(v.source, model.name, version);
  });
  // A model version's training profile: the baseline of drift monitoring and of validation.
  const trainingProfiles = runBaselineReader(artifacts, async (served) => {
    const { runId } = await registry.service.getModelVersion(served.model, served.version);
    const { run } = await tracking.service.getRun(runId);
    return { experimentId: run.info.experiment_id, runId };
  });
  // Built-in step kinds: `validate` runs expectation suites over Parquet (DuckDB, s3:// mapped
  // under the offline root); its reference profiles are registered versions' training profiles.
  const validate = validateStepKind({
    engine: new DuckDbValidationEngine({ offlineRoot: offlineRootOf(config) }),
    tracking: tracking.service,
    references: (ref) => trainingProfiles.baselineFor("", { model: ref.model, version: String(ref.version) }),
  });
  const pipelines = createPipelinesModule(deps, {
    tracking: tracking.service,
    builtinSteps: [
      ...rag.steps,
      validate,
      finetuneStepKind() as BuiltinStepKind<unknown>,
      registerAdapterStepKind({
        tracking: tracking.service,
        registrar: registryRegistrar(registry.service),
      }) as BuiltinStepKind<unknown>,
    ],
    pipelines: opts.pipelines,
    executor: createPipelineExecutor(config),
  });
  modules.push(pipelines);
  const tuning = createTuningModule(deps, {
    tracking: tracking.service,
    pipelines: pipelines.service,
    registrar: registryRegistrar(registry.service),
    tunings: opts.tunings,
  });
  modules.push(tuning);
  const features = createFeaturesModule(deps, createFeatureStores(config));
  modules.push(features);
  modules.push(createValidationModule({ features: features.service, pipelines: pipelines.service }));
  // A deployment's drift baseline is the profile logged by the run that trained its served version.
  const predictionLogStore = createPredictionLogStore(config);
  const monitoring = createMonitoringModule(deps, {
    baselines: trainingProfiles,
    predictionLog: {
      ...(predictionLogStore ? { store: predictionLogStore, prefix: "" } : {}),
      piiKey: config.monitoring.predictionLogKeySecret
        ? { kind: "secret", secretId: config.monitoring.predictionLogKeySecret }
        : { kind: "file", path: join(config.core.dataDir, "keys", "prediction-log.key") },
    },
    retention: {
      of: async (d) => (await servingDeployments?.find(d))?.retention_days,
      defaultDays: DEFAULT_RETENTION_DAYS,
      sweepOnStart: !config.artifacts.root.startsWith("s3://"),
    },
  });
  modules.push(monitoring);
  const serving = createServingModule(deps, {
    resolver: registryModelResolver(registry.service),
    // Production traffic only for approved bytes: the registry's approval with its pinned digests.
    approvals: { productionApproval: (m, v) => registry.service.productionApproval(m, v) },
    publish: {
      target: createModelPublishTarget(config),
      sourcePath: async (m, v) =>
        (await registry.service.resolve(m, v)).storageLocation.replace(/^mlflow-artifacts:\/+/, ""),
    },
    features: features.service,
    predictions: monitoring.predictionSink,
    explainer: { explain: (model, data, shape) => explainTensor(parseModel(model), data, shape) },
    queue: createScoringQueue(config),
    metricsSink: createMetricsSink(config),
  });
  servingDeployments = serving.service.deployments;
  // An approval into a protected stage or alias publishes the version to the model repository.
  registry.service.setPublisher(serving.service.publisher);
  modules.push(serving);
  // The LLM gateway (/llm/v1, /api/v1/llm); its metrics join the serving module's /metrics.
  const llm = createLlmModule(
    {
      store,
      audit,
      clock,
      log,
      config: { region: config.core.region, stage: config.core.stage, llm: config.llm },
      artifacts,
    },
    {
      productionRefusal: registryProductionRefusal(registry.service),
      tracer: gatewayTracer(tracking.service),
      semanticStore: vectors,
    },
  );
  modules.push(llm);
  // Routes naming a registered version are re-checked on the next request after any registry change.
  registry.service.onVersionChange(async () => llm.service.approvals?.invalidate());
  // Knowledge bases answer as gateway models `rag:<kb>`, retrieving as the gateway's caller.
  llm.service.registerVirtualModels(ragVirtualModels(rag.service));
  const servingMetrics = serving.service.metrics.render.bind(serving.service.metrics);
  serving.service.metrics.render = () => servingMetrics() + llm.metrics.render();
  // `keel audit verify` also checks that protected state carries the event that changed it.
  modules.push(
    createAuditModule({ audit, state: [registryAuditedState(store), deploymentAuditedState(store)] }),
  );

  const access = createAccessControl({
    mode: opts.auth ?? "laptop",
    store,
    audit,
    config: config.auth,
    defaultPrincipal: opts.defaultPrincipal ?? "local-user",
    runExperiment: async (runId) => (await tracking.service.getRun(runId)).run.info.experiment_id,
    experimentByName: async (name) =>
      (await tracking.service.getExperimentByName(name)).experiment.experiment_id,
    traceExperiment: (id) => tracking.service.traces.experimentOf(id),
    loggedModelExperiment: (id) => tracking.service.loggedModels.experimentOf(id),
  });
  const app = createApp(modules, {
    access,
    guards: { allowedHosts: opts.allowedHosts, allowedOrigins: config.http.allowedOrigins },
    oidc: {
      issuer: config.auth.oidcIssuer,
      clientId: config.auth.oidcClientId,
      scopes: config.auth.oidcScopes,
    },
    admission: {
      maxInFlight: config.http.maxInFlight,
      mode: config.http.admission,
      classes: classAdmissionConfig(config.http),
      internalToken: internalCallToken(),
      lag: { maxLagMs: config.http.maxEventLoopLagMs },
    },
  });
  return {
    deps,
    modules,
    app,
    access,
    services: {
      tracking: tracking.service,
      registry: registry.service,
      monitoring: monitoring.service,
      features: features.service,
      pipelines: pipelines.service,
      rag: rag.service,
      llm: llm.service,
      tuning: tuning.service,
    },
    async start() {
      for (const m of modules) await m.start?.();
    },
    async stop() {
      for (const m of [...modules].reverse()) await m.stop?.();
    },
  };
}
