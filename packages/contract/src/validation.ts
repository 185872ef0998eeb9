import { z } from "zod";
import { pipelineRunSchema } from "./pipelines";
import { defineRoute } from "./route";

/** Data quality: training-serving skew of feature views, and reproductions of pipeline runs. */
const tags = ["Validation"] as const;

const featureConsistencySchema = z.object({
  name: z.string(),
  missing: z.number(),
  stale: z.number(),
  different: z.number(),
  mismatchRate: z.number(),
  examples: z.array(z.looseObject({ entity: z.string(), kind: z.enum(["missing", "stale", "different"]) })),
});
export const consistencyReportSchema = z.object({
  view: z.string(),
  entities: z.number(),
  sampled: z.number(),
  threshold: z.number(),
  passed: z.boolean(),
  mismatchRate: z.number(),
  features: z.array(featureConsistencySchema),
  durationMs: z.number(),
  phasesMs: z.object({ offline: z.number(), online: z.number(), pointInTime: z.number() }),
});

export const reproductionReportSchema = z.looseObject({
  originalRunId: z.string(),
  runId: z.string(),
  status: z.string(),
  tolerance: z.number(),
  reproduced: z.boolean(),
  metrics: z.array(z.looseObject({ step: z.string(), key: z.string(), withinTolerance: z.boolean() })),
  models: z.array(z.looseObject({ step: z.string(), identical: z.boolean() })),
  steps: z.array(z.object({ step: z.string(), original: z.string(), reproduced: z.string() })),
  differences: z.array(z.string()),
  caveats: z.array(z.string()),
  summary: z.string(),
});

export const validationRoutes = {
  checkConsistency: defineRoute({
    id: "validation.checkConsistency",
    method: "POST",
    path: "/api/v1/features/views/:view/check-consistency",
    summary:
      "Compare sampled online feature values with the offline store point-in-time (training-serving skew)",
    tags,
    params: z.object({ view: z.string() }),
    body: z.strictObject({
      sample: z.number().int().min(1).max(1_000_000).default(1000),
      seed: z.number().int().default(0),
      tolerance: z.number().min(0).default(1e-9),
      threshold: z.number().min(0).max(1).default(0),
    }),
    response: consistencyReportSchema,
    errors: ["INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"],
  }),
  reproduceRun: defineRoute({
    id: "validation.reproduceRun",
    method: "POST",
    path: "/api/v1/pipelines/runs/:id/reproduce",
    summary: "Re-run a finished pipeline run with its recorded params and no step cache",
    tags,
    params: z.object({ id: z.string() }),
    response: z.object({ run: pipelineRunSchema }),
    status: 201,
    errors: ["RESOURCE_DOES_NOT_EXIST", "INVALID_STATE", "INVALID_PARAMETER_VALUE"],
  }),
  getReproduction: defineRoute({
    id: "validation.getReproduction",
    method: "GET",
    path: "/api/v1/pipelines/runs/:id/reproduction",
    summary: "How a finished reproduction compares with the run it reproduced, and why they differ",
    tags,
    params: z.object({ id: z.string() }),
    query: z.object({ tolerance: z.coerce.number().min(0).optional() }),
    response: reproductionReportSchema,
    errors: ["RESOURCE_DOES_NOT_EXIST", "INVALID_STATE", "INVALID_PARAMETER_VALUE"],
  }),
};
