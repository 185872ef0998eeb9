import { z } from "zod";
import { defineRoute } from "./route";

/** Keel's hyperparameter tuning API: registered tuning definitions, experiments and their trials. */
const tags = ["Tuning"] as const;
const name = z.object({ name: z.string().min(1).max(60) });

export const tuningTrialSchema = z.looseObject({
  number: z.number(),
  params: z.record(z.string(), z.unknown()),
  status: z.string(),
  attempts: z.number(),
  startTime: z.number().optional(),
  endTime: z.number().optional(),
  value: z.number().optional(),
  metrics: z.record(z.string(), z.number()).optional(),
  curve: z.array(z.tuple([z.number(), z.number()])),
  stoppedAt: z.number().optional(),
  error: z.string().optional(),
  trackingRunId: z.string().optional(),
  modelUri: z.string().optional(),
});

export const tuningExperimentSchema = z.looseObject({
  name: z.string(),
  status: z.enum(["RUNNING", "SUCCEEDED", "STOPPED", "FAILED"]),
  spec: z.looseObject({ name: z.string(), maxTrials: z.number(), parallelTrials: z.number() }),
  createdAt: z.number(),
  updatedAt: z.number(),
  endTime: z.number().optional(),
  stopRequested: z.boolean().optional(),
  trackingRunId: z.string().optional(),
  trackingExperimentId: z.string().optional(),
  best: z
    .looseObject({ number: z.number(), value: z.number(), params: z.record(z.string(), z.unknown()) })
    .optional(),
  registered: z.looseObject({ model: z.string(), version: z.string() }).optional(),
  error: z.string().optional(),
  /** Whether a controller in this server is running it now. */
  active: z.boolean().optional(),
});
export type TuningExperimentJson = z.infer<typeof tuningExperimentSchema>;
export type TuningTrialJson = z.infer<typeof tuningTrialSchema>;

const experiment = z.object({ experiment: tuningExperimentSchema });

export const tuningRoutes = {
  listDefinitions: defineRoute({
    id: "tuning.listDefinitions",
    method: "GET",
    path: "/api/v1/tuning/definitions",
    summary: "Tuning definitions this server has loaded",
    tags,
    response: z.object({
      tunings: z.array(
        z.looseObject({
          name: z.string(),
          algorithm: z.string(),
          maxTrials: z.number(),
          parallelTrials: z.number(),
          trial: z.string(),
          file: z.string().optional(),
        }),
      ),
    }),
    errors: [],
  }),
  getStateMachine: defineRoute({
    id: "tuning.getStateMachine",
    method: "GET",
    path: "/api/v1/tuning/definitions/:name/state-machine",
    summary: "The tuning experiment as a Step Functions state machine (Amazon States Language)",
    tags,
    params: name,
    response: z.looseObject({ States: z.record(z.string(), z.unknown()) }),
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  listExperiments: defineRoute({
    id: "tuning.listExperiments",
    method: "GET",
    path: "/api/v1/tuning/experiments",
    summary: "Tuning experiments with their status and best trial",
    tags,
    response: z.object({ experiments: z.array(tuningExperimentSchema) }),
    errors: [],
  }),
  startExperiment: defineRoute({
    id: "tuning.startExperiment",
    method: "POST",
    path: "/api/v1/tuning/experiments",
    summary: "Start a tuning experiment from a loaded definition (it runs in the background)",
    tags,
    body: z.object({ name: z.string().min(1).max(60) }).strict(),
    response: experiment,
    status: 202,
    errors: ["INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS"],
  }),
  getExperiment: defineRoute({
    id: "tuning.getExperiment",
    method: "GET",
    path: "/api/v1/tuning/experiments/:name",
    summary: "A tuning experiment with every trial",
    tags,
    params: name,
    response: z.object({ experiment: tuningExperimentSchema, trials: z.array(tuningTrialSchema) }),
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  stopExperiment: defineRoute({
    id: "tuning.stopExperiment",
    method: "POST",
    path: "/api/v1/tuning/experiments/:name/stop",
    summary: "Stop a running experiment (running trials end STOPPED; resume reruns them)",
    tags,
    params: name,
    response: experiment,
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  resumeExperiment: defineRoute({
    id: "tuning.resumeExperiment",
    method: "POST",
    path: "/api/v1/tuning/experiments/:name/resume",
    summary: "Resume a stopped or interrupted experiment from its recorded trials",
    tags,
    params: name,
    response: experiment,
    status: 202,
    errors: ["RESOURCE_DOES_NOT_EXIST", "INVALID_STATE"],
  }),
  reportProgress: defineRoute({
    id: "tuning.reportProgress",
    method: "POST",
    path: "/api/v1/tuning/experiments/:name/trials/:trial/progress",
    summary:
      "A running trial's rounds (step = budget spent, metrics); answers whether the early-stopping rule stops it",
    tags,
    params: z.object({ name: z.string().min(1).max(60), trial: z.coerce.number().int().min(0) }),
    query: z.object({ attempt: z.coerce.number().int().min(1) }),
    body: z
      .object({
        rounds: z
          .array(z.object({ step: z.number(), metrics: z.record(z.string(), z.number()) }))
          .max(100_000),
      })
      .strict(),
    response: z.object({ stop: z.boolean() }),
    errors: ["INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"],
  }),
};
