import { z } from "zod";
import { defineRoute } from "./route";

/** Keel's pipeline API: registered pipelines, runs, backfills. */
const tags = ["Pipelines"] as const;
const name = z.object({ name: z.string() });
const id = z.object({ id: z.string() });
const ERRORS = [
  "INVALID_PARAMETER_VALUE",
  "MALFORMED_REQUEST",
  "RESOURCE_DOES_NOT_EXIST",
  "INVALID_STATE",
] as const;

export const pipelineRunSchema = z.looseObject({
  runId: z.string(),
  pipeline: z.string(),
  status: z.string(),
  params: z.record(z.string(), z.unknown()),
  noCache: z.boolean(),
  trigger: z.enum(["api", "schedule", "backfill", "resume", "reproduce"]),
  principal: z.string(),
  startTime: z.number(),
  endTime: z.number().optional(),
  executionId: z.string().optional(),
  error: z.string().optional(),
  cause: z.string().optional(),
  output: z.unknown().optional(),
  resumedFrom: z.string().optional(),
  trackingRunId: z.string().optional(),
  trackingExperimentId: z.string().optional(),
});
export const stepRecordSchema = z.looseObject({
  step: z.string(),
  index: z.number().optional(),
  status: z.string(),
  attempts: z.number(),
  startTime: z.number().optional(),
  endTime: z.number().optional(),
  error: z.string().optional(),
  cause: z.string().optional(),
  output: z.unknown().optional(),
  cachedFrom: z.string().optional(),
  logUri: z.string().optional(),
  logTail: z.string().optional(),
  trackingRunId: z.string().optional(),
});
export type PipelineRunJson = z.infer<typeof pipelineRunSchema>;
export type StepRecordJson = z.infer<typeof stepRecordSchema>;

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be YYYY-MM-DD");
const run = z.object({ run: pipelineRunSchema });
const pipelineSummary = z.object({
  name: z.string(),
  description: z.string().optional(),
  version: z.string().optional(),
  schedule: z.unknown().optional(),
  file: z.string().optional(),
});

export const pipelineRoutes = {
  listRuns: defineRoute({
    id: "pipelines.listRuns",
    method: "GET",
    path: "/api/v1/pipelines/runs",
    summary: "Pipeline runs, newest first",
    tags,
    query: z.object({
      pipeline: z.string().optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      page_token: z.string().optional(),
    }),
    response: z.object({ runs: z.array(pipelineRunSchema), next_page_token: z.string().optional() }),
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
  getRun: defineRoute({
    id: "pipelines.getRun",
    method: "GET",
    path: "/api/v1/pipelines/runs/:id",
    summary: "A run with its steps",
    tags,
    params: id,
    response: z.object({ run: pipelineRunSchema, steps: z.array(stepRecordSchema) }),
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  stopRun: defineRoute({
    id: "pipelines.stopRun",
    method: "POST",
    path: "/api/v1/pipelines/runs/:id/stop",
    summary: "Stop a running run",
    tags,
    params: id,
    response: run,
    errors: ERRORS,
  }),
  resumeRun: defineRoute({
    id: "pipelines.resumeRun",
    method: "POST",
    path: "/api/v1/pipelines/runs/:id/resume",
    summary: "Resume a failed run from its failed steps",
    tags,
    params: id,
    response: run,
    status: 201,
    errors: ERRORS,
  }),
  list: defineRoute({
    id: "pipelines.list",
    method: "GET",
    path: "/api/v1/pipelines",
    summary: "Registered pipelines",
    tags,
    response: z.object({
      pipelines: z.array(
        pipelineSummary.extend({
          steps: z.array(z.object({ name: z.string(), kind: z.string(), dependsOn: z.array(z.string()) })),
        }),
      ),
    }),
    errors: [],
  }),
  get: defineRoute({
    id: "pipelines.get",
    method: "GET",
    path: "/api/v1/pipelines/:name",
    summary: "A pipeline with its compiled levels",
    tags,
    params: name,
    response: pipelineSummary.extend({
      levels: z.array(z.array(z.string())),
      dependencies: z.record(z.string(), z.array(z.string())),
      /** JSON Schema of the run parameters (what a start-a-run form asks for). */
      params_schema: z.record(z.string(), z.unknown()).optional(),
    }),
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  getDefinition: defineRoute({
    id: "pipelines.getDefinition",
    method: "GET",
    path: "/api/v1/pipelines/:name/definition",
    summary: "The pipeline's Amazon States Language definition",
    tags,
    params: name,
    response: z.looseObject({ States: z.record(z.string(), z.unknown()) }),
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  startRun: defineRoute({
    id: "pipelines.startRun",
    method: "POST",
    path: "/api/v1/pipelines/:name/runs",
    summary: "Start a run (repeating a request with the same runId returns the same run)",
    tags,
    params: name,
    body: z
      .object({
        params: z.record(z.string(), z.unknown()).default({}),
        noCache: z.boolean().default(false),
        runId: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,80}$/, "runId is 1-80 of A-Z a-z 0-9 _ -")
          .optional(),
      })
      .strict(),
    response: run,
    status: 201,
    errors: ERRORS,
  }),
  backfill: defineRoute({
    id: "pipelines.backfill",
    method: "POST",
    path: "/api/v1/pipelines/:name/backfill",
    summary: "Run a pipeline once per day of a date range, in the background",
    tags,
    params: name,
    body: z
      .object({
        from: day,
        to: day,
        params: z.record(z.string(), z.unknown()).default({}),
        concurrency: z.number().int().min(1).max(32).default(2),
        noCache: z.boolean().default(false),
      })
      .strict(),
    response: z.object({ pipeline: z.string(), intervals: z.array(z.unknown()), concurrency: z.number() }),
    status: 202,
    errors: ERRORS,
  }),
};
