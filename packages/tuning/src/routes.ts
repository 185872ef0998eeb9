import { mount, tuningRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import type { TuningService } from "./service";

/** Keel's tuning API under /api/v1/tuning. Handlers parse, call the service, shape JSON. */
export function tuningRoutes(app: Hono, service: TuningService): void {
  mount(app, r.listDefinitions, () => ({
    tunings: service.definitions().map(({ def, file }) => ({
      name: def.spec.name,
      algorithm: def.spec.algorithm.name,
      maxTrials: def.spec.maxTrials,
      parallelTrials: def.spec.parallelTrials,
      trial: def.spec.trial.kind,
      objective: def.spec.objective,
      ...(file ? { file } : {}),
    })),
  }));
  mount(app, r.getStateMachine, ({ params }) => service.stateMachine(params.name) as never);
  mount(app, r.listExperiments, async () => ({ experiments: await service.experiments() }));
  mount(app, r.startExperiment, async ({ body }) => ({ experiment: await service.start(body.name) }));
  mount(app, r.getExperiment, async ({ params }) => service.experiment(params.name));
  mount(app, r.stopExperiment, async ({ params }) => ({ experiment: await service.stop(params.name) }));
  mount(app, r.reportProgress, async ({ params, query, body }) =>
    service.progress(params.name, params.trial, query.attempt, body.rounds),
  );
  mount(app, r.resumeExperiment, async ({ params }) => ({ experiment: await service.resume(params.name) }));
}
