import type { PipelineDefinition } from "@keel/pipelines";
import { z } from "zod";
import { badTuning } from "./errors";
import { type Params, type Space, validateSpace } from "./space";
import type { TrialReporter } from "./trial-runner";

/** Names become tracking experiment names and metadata keys. */
export const TUNING_NAME = /^[a-z][a-z0-9-]{0,59}$/;

const objectiveSchema = z
  .object({ metric: z.string().min(1), goal: z.enum(["maximize", "minimize"]) })
  .strict();

const algorithmSchema = z.union([
  z.enum(["grid", "random", "tpe", "asha", "hyperband"]).transform((name) => ({ name })),
  z.object({ name: z.literal("grid"), points: z.number().int().min(1).max(100).default(5) }).strict(),
  z.object({ name: z.literal("random") }).strict(),
  z
    .object({
      name: z.literal("tpe"),
      startupTrials: z.number().int().min(1).optional(),
      gamma: z.number().gt(0).lt(1).optional(),
      candidates: z.number().int().min(1).max(1000).optional(),
    })
    .strict(),
  z.object({ name: z.enum(["asha", "hyperband"]) }).strict(),
]);

const stoppingCommon = {
  /** The intermediate metric the rule compares (default: the objective's metric). */
  metric: z.string().min(1).optional(),
  goal: z.enum(["maximize", "minimize"]).optional(),
};
const earlyStoppingSchema = z.discriminatedUnion("rule", [
  z
    .object({
      rule: z.literal("median"),
      ...stoppingCommon,
      warmupSteps: z.number().int().min(0).default(5),
      minTrials: z.number().int().min(1).default(5),
    })
    .strict(),
  z
    .object({
      rule: z.literal("asha"),
      ...stoppingCommon,
      /** The trial parameter that receives the full budget (e.g. "rounds"), if any. */
      budgetParam: z.string().min(1).optional(),
      minBudget: z.number().positive(),
      maxBudget: z.number().positive(),
      reductionFactor: z.number().min(2).default(3),
      /** Hyperband brackets (1 = plain ASHA). */
      brackets: z.number().int().min(1).max(10).default(1),
    })
    .strict(),
]);

export const trainTrialSchema = z
  .object({
    trainingSetUri: z.union([
      z.string().min(1),
      z.custom<() => Promise<string>>((v) => typeof v === "function"),
    ]),
    label: z.string().min(1),
    features: z.array(z.string().min(1)).min(1),
    algorithm: z.enum(["gbdt", "logistic"]).default("gbdt"),
    /** Fixed algorithm parameters; the suggestion's parameters are laid over them. */
    params: z.record(z.string(), z.unknown()).default({}),
    validationFraction: z.number().gt(0).lt(1).default(0.2),
    seed: z.number().int().default(0),
  })
  .strict();

const tuningSchema = z
  .object({
    name: z.string().regex(TUNING_NAME, "tuning names are lowercase letters, digits and - (max 60)"),
    description: z.string().optional(),
    pipeline: z
      .custom<PipelineDefinition>((v) => (v as { kind?: string })?.kind === "keel.pipeline")
      .optional(),
    /** Fixed parameters of every trial's pipeline run; the suggestion is laid over them. */
    pipelineParams: z.record(z.string(), z.unknown()).default({}),
    trainStep: trainTrialSchema.optional(),
    /** A plain objective function (benchmarks, custom trainers). */
    run: z.custom<ObjectiveFunction>((v) => typeof v === "function").optional(),
    parameters: z.record(
      z.string(),
      z.custom<Space[string]>((v) => typeof v === "object" && v !== null),
    ),
    objective: objectiveSchema,
    algorithm: algorithmSchema.default({ name: "tpe" }),
    maxTrials: z.number().int().min(1).max(10_000),
    parallelTrials: z.number().int().min(1).max(256).default(1),
    earlyStopping: earlyStoppingSchema.optional(),
    /** Attempts after the first for a trial that fails (default 1). */
    maxRetries: z.number().int().min(0).max(10).default(1),
    seed: z.number().int().default(0),
    /** Tracking experiment of the tuning run (default `tuning/<name>`). */
    experiment: z.string().min(1).optional(),
    /** Registers the best trial's model as a new version and, optionally, requests its promotion. */
    register: z
      .object({ model: z.string().min(1), promoteTo: z.string().min(1).optional() })
      .strict()
      .optional(),
  })
  .strict();

export type TuningInput = z.input<typeof tuningSchema>;
export type TrainTrial = z.output<typeof trainTrialSchema>;
export type EarlyStopping = z.output<typeof earlyStoppingSchema>;
export type AlgorithmSpec = z.output<typeof algorithmSchema>;

/** A custom objective: returns final metrics; may call `ctx.report` with intermediate ones. */
export type ObjectiveFunction = (
  params: Params,
  ctx: TrialReporter,
) => Promise<Record<string, number>> | Record<string, number>;

/** What the controller stores and the AWS controller Lambda reads: the definition without code. */
export interface TuningSpec {
  name: string;
  description?: string;
  parameters: Space;
  objective: { metric: string; goal: "maximize" | "minimize" };
  algorithm: AlgorithmSpec;
  maxTrials: number;
  parallelTrials: number;
  earlyStopping?: EarlyStopping;
  maxRetries: number;
  seed: number;
  experiment: string;
  register?: { model: string; promoteTo?: string };
  /** How a trial runs. */
  trial: { kind: "pipeline"; pipeline: string } | { kind: "trainStep" } | { kind: "function" };
}

export interface TuningDefinition {
  readonly kind: "keel.tuning";
  spec: TuningSpec;
  pipeline?: PipelineDefinition;
  pipelineParams: Record<string, unknown>;
  trainStep?: TrainTrial;
  run?: ObjectiveFunction;
}

/**
 * Declares a hyperparameter tuning experiment (Katib's Experiment): a search space, an objective,
 * an algorithm, how many trials and how many at once, optional early stopping, and what a trial
 * runs (a pipeline, the built-in train step, or a function). Validated here; throws
 * INVALID_PARAMETER_VALUE naming the field.
 */
export function defineTuning(input: TuningInput): TuningDefinition {
  const r = tuningSchema.safeParse(input);
  if (!r.success)
    throw badTuning(
      `invalid tuning "${input?.name ?? "?"}": ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const d = r.data;
  const kinds = [d.pipeline && "pipeline", d.trainStep && "trainStep", d.run && "run"].filter(Boolean);
  if (kinds.length !== 1)
    throw badTuning(
      `tuning "${d.name}" needs exactly one of pipeline, trainStep or run (got ${kinds.join(", ") || "none"})`,
    );
  validateSpace(d.parameters);
  const es = d.earlyStopping;
  if ((d.algorithm.name === "asha" || d.algorithm.name === "hyperband") && es?.rule !== "asha")
    throw badTuning(
      `tuning "${d.name}": algorithm ${d.algorithm.name} needs earlyStopping { rule: "asha", minBudget, maxBudget }`,
    );
  if (es?.rule === "asha" && !(es.maxBudget > es.minBudget))
    throw badTuning(`tuning "${d.name}": earlyStopping.maxBudget must exceed minBudget`);
  if (es?.rule === "asha" && es.budgetParam && es.budgetParam in d.parameters)
    throw badTuning(
      `tuning "${d.name}": the budget parameter "${es.budgetParam}" is set by ASHA, not searched`,
    );
  const spec: TuningSpec = {
    name: d.name,
    ...(d.description ? { description: d.description } : {}),
    parameters: d.parameters,
    objective: d.objective,
    algorithm: d.algorithm,
    maxTrials: d.maxTrials,
    parallelTrials: d.parallelTrials,
    ...(es ? { earlyStopping: es } : {}),
    maxRetries: d.maxRetries,
    seed: d.seed,
    experiment: d.experiment ?? `tuning/${d.name}`,
    ...(d.register ? { register: d.register } : {}),
    trial: d.pipeline
      ? { kind: "pipeline", pipeline: d.pipeline.name }
      : d.trainStep
        ? { kind: "trainStep" }
        : { kind: "function" },
  };
  return Object.freeze({
    kind: "keel.tuning" as const,
    spec,
    pipeline: d.pipeline,
    pipelineParams: d.pipelineParams,
    trainStep: d.trainStep,
    run: d.run,
  });
}

export function isTuningDefinition(v: unknown): v is TuningDefinition {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "keel.tuning";
}

/** The tuning definitions a module exports (any export that is one). */
export function tuningsIn(mod: Record<string, unknown>): TuningDefinition[] {
  return Object.values(mod).filter(isTuningDefinition);
}
