import { jsonBody, parseWith, queryObject } from "@keel/core";
import type { Hono } from "hono";
import { z } from "zod";
import { PipelineError } from "./errors";
import type { PipelineService } from "./service";

const runBody = z
  .object({
    params: z.record(z.string(), z.unknown()).default({}),
    noCache: z.boolean().default(false),
    /** Optional client-chosen id: repeating the request returns the same run. */
    runId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,80}$/, "runId is 1-80 of A-Z a-z 0-9 _ -")
      .optional(),
  })
  .strict();
const registerBody = z.object({ file: z.string().min(1) }).strict();
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be YYYY-MM-DD");
const backfillBody = z
  .object({
    from: day,
    to: day,
    params: z.record(z.string(), z.unknown()).default({}),
    concurrency: z.number().int().min(1).max(32).default(2),
    noCache: z.boolean().default(false),
  })
  .strict();
const listQuery = z.object({
  pipeline: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  page_token: z.string().optional(),
});

/**
 * Keel's pipeline API under /api/v1/pipelines. Handlers parse, call the service, shape JSON.
 * `/runs...` routes are mounted before `/:name...` so "runs" is never read as a pipeline name.
 */
export function pipelineRoutes(
  app: Hono,
  service: PipelineService,
  opts: { allowFileRegistration: boolean; onRegistered(): void },
): void {
  app.get("/api/v1/pipelines/runs", async (c) => {
    const q = parseWith(listQuery, queryObject(c), "query");
    const page = await service.runs.listRuns({ pipeline: q.pipeline, limit: q.limit, cursor: q.page_token });
    return c.json({ runs: page.runs, ...(page.cursor ? { next_page_token: page.cursor } : {}) });
  });
  app.get("/api/v1/pipelines/runs/:id", async (c) => {
    const { run, steps } = await service.getRun(c.req.param("id"));
    return c.json({ run, steps });
  });
  app.post("/api/v1/pipelines/runs/:id/stop", async (c) =>
    c.json({ run: await service.stop(c.req.param("id")) }),
  );
  app.post("/api/v1/pipelines/runs/:id/resume", async (c) =>
    c.json({ run: await service.resume(c.req.param("id")) }, 201),
  );

  app.get("/api/v1/pipelines", (c) =>
    c.json({
      pipelines: service.list().map(({ def, file }) => ({
        name: def.name,
        description: def.description,
        version: def.version,
        schedule: def.schedule,
        file,
        steps: def.steps.map((s) => ({ name: s.name, kind: s.kind, dependsOn: s.dependsOn })),
      })),
    }),
  );
  app.post("/api/v1/pipelines", async (c) => {
    const body = await jsonBody(c, registerBody);
    if (!opts.allowFileRegistration) {
      throw new PipelineError("INVALID_STATE", "pipelines are registered by deployment here, not by file");
    }
    const pipelines = await service.registerFile(body.file);
    opts.onRegistered();
    return c.json({ pipelines }, 201);
  });
  app.get("/api/v1/pipelines/:name", (c) => {
    const { def, compiled, file } = service.get(c.req.param("name"));
    return c.json({
      name: def.name,
      description: def.description,
      version: def.version,
      schedule: def.schedule,
      file,
      levels: compiled.levels,
      dependencies: compiled.deps,
    });
  });
  app.get("/api/v1/pipelines/:name/definition", (c) =>
    c.json(service.get(c.req.param("name")).compiled.definition),
  );
  app.post("/api/v1/pipelines/:name/runs", async (c) => {
    const name = c.req.param("name");
    service.get(name);
    const body = await jsonBody(c, runBody);
    return c.json({ run: await service.startRun(name, { ...body, trigger: "api" }) }, 201);
  });
  app.post("/api/v1/pipelines/:name/backfill", async (c) => {
    const name = c.req.param("name");
    service.get(name);
    const body = await jsonBody(c, backfillBody);
    const { intervals, completion } = service.backfill(name, body);
    // The runs proceed in the background; each is listed under /runs as it starts.
    completion.catch(() => undefined);
    return c.json({ pipeline: name, intervals, concurrency: body.concurrency }, 202);
  });
}
