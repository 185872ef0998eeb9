import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import type { Clock, Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Hono } from "hono";
import { type AslBindings, type BuiltinStepKind, BuiltinStepRegistry } from "./builtin-steps";
import type { PipelineDefinition } from "./definition";
import type { PipelineExecutor } from "./executor-port";
import { pipelineRoutes } from "./routes";
import { LocalScheduler } from "./scheduler";
import { PipelineService } from "./service";
import type { PipelineTracking } from "./tracking-link";

/** What the module needs from the platform (a subset of PlatformDeps). */
export interface PipelinesModuleDeps {
  store: MetadataStore;
  artifacts: ArtifactStore;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
}

export interface PipelinesModuleOptions {
  /** Mirrors runs into experiment tracking (nested runs per step) when given. */
  tracking?: PipelineTracking;
  /** Built-in step kinds other areas contribute. */
  builtinSteps?: BuiltinStepKind[] | BuiltinStepRegistry;
  /** Pipelines to register at construction (the project's registry; in AWS the deployed ones). */
  pipelines?: PipelineDefinition[];
  /**
   * Where runs execute, chosen by @keel/app from `config.pipelines.executor`: Step Functions in
   * AWS; omitted, runs execute in process (`keel dev`), pipeline files may be registered over
   * HTTP and cron schedules fire here.
   */
  executor?: PipelineExecutor;
  bindings?: Partial<AslBindings>;
  /** Fire cron schedules in process (default: when the executor is local). */
  scheduler?: boolean;
  retryIntervalMs?: number;
}

export interface PipelinesModule {
  name: "pipelines";
  routes(app: Hono): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  service: PipelineService;
  scheduler: LocalScheduler;
}

/**
 * The pipelines module: service, HTTP routes, and in `keel dev` the cron scheduler and the
 * pipeline files registered earlier. Runs execute in process unless an executor is given
 * (Step Functions state machines named `keel-<stage>-<pipeline>`, chosen by @keel/app).
 */
export function createPipelinesModule(
  deps: PipelinesModuleDeps,
  opts: PipelinesModuleOptions = {},
): PipelinesModule {
  const builtins =
    opts.builtinSteps instanceof BuiltinStepRegistry
      ? opts.builtinSteps
      : new BuiltinStepRegistry(opts.builtinSteps ?? []);
  const local = !opts.executor;
  const executor = opts.executor;
  const service = new PipelineService({
    ...deps,
    tracking: opts.tracking,
    builtins,
    executor,
    bindings: opts.bindings,
    retryIntervalMs: opts.retryIntervalMs,
  });
  const scheduler = new LocalScheduler(service, deps.clock, deps.log);
  const initial = Promise.all((opts.pipelines ?? []).map((p) => service.register(p)));
  // Surfaced by start(); without this a bad pipeline would also be an unhandled rejection.
  initial.catch(() => undefined);
  return {
    name: "pipelines",
    service,
    scheduler,
    routes(app) {
      // Never over HTTP: importing a path a caller names runs whatever code is there (an
      // uploaded artifact, say). Pipelines come from the project's own files, registered in
      // process (`keel dev --pipelines`, the CLI) with `registerFile`, or from deployment.
      pipelineRoutes(app, service);
    },
    async start() {
      await initial;
      if (local) await service.reloadRegisteredFiles();
      if (opts.scheduler ?? local) scheduler.start();
    },
    async stop() {
      scheduler.stop();
      await service.close();
    },
  };
}
