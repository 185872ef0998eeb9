import { mount, pipelineRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import { z } from "zod";
import { pipelineEventRoutes } from "./run-events-route";
import type { PipelineService } from "./service";

/**
 * Keel's pipeline API under /api/v1/pipelines. Handlers parse, call the service, shape JSON.
 * `/runs...` routes are mounted before `/:name...` so "runs" is never read as a pipeline name.
 */
export function pipelineRoutes(app: Hono, service: PipelineService): void {
  mount(app, r.listRuns, async ({ query: q }) => {
    const page = await service.runs.listRuns({ pipeline: q.pipeline, limit: q.limit, cursor: q.page_token });
    return { runs: page.runs, ...(page.cursor ? { next_page_token: page.cursor } : {}) };
  });
  pipelineEventRoutes(app, service);
  mount(app, r.getRun, async ({ params }) => {
    const { run, steps } = await service.getRun(params.id);
    return { run, steps };
  });
  mount(app, r.stopRun, async ({ params }) => ({ run: await service.stop(params.id) }));
  mount(app, r.resumeRun, async ({ params }) => ({ run: await service.resume(params.id) }));
  mount(app, r.list, () => ({
    pipelines: service.list().map(({ def, file }) => ({
      name: def.name,
      description: def.description,
      version: def.version,
      schedule: def.schedule,
      file,
      steps: def.steps.map((s) => ({ name: s.name, kind: s.kind, dependsOn: s.dependsOn })),
    })),
  }));
  mount(app, r.get, ({ params }) => {
    const { def, compiled, file } = service.get(params.name);
    return {
      name: def.name,
      description: def.description,
      version: def.version,
      schedule: def.schedule,
      file,
      levels: compiled.levels,
      dependencies: compiled.deps,
      params_schema: paramsJsonSchema(def.params),
    };
  });
  mount(app, r.getDefinition, ({ params }) => service.get(params.name).compiled.definition);
  mount(app, r.startRun, async ({ params, body }) => {
    service.get(params.name);
    return { run: await service.startRun(params.name, { ...body, trigger: "api" }) };
  });
  mount(app, r.backfill, ({ params, body }) => {
    service.get(params.name);
    const { intervals, completion } = service.backfill(params.name, body);
    // The runs proceed in the background; each is listed under /runs as it starts.
    completion.catch(() => undefined);
    return { pipeline: params.name, intervals, concurrency: body.concurrency };
  });
}

/** The params' JSON Schema (as the caller sends them), for forms such as the console's start-a-run. */
function paramsJsonSchema(params: z.ZodType | undefined): Record<string, unknown> | undefined {
  if (!params) return undefined;
  try {
    return z.toJSONSchema(params, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
