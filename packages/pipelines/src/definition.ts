import type { ArtifactStore } from "@keel/artifacts";
import { z } from "zod";
import { badDefinition } from "./errors";

/**
 * The pipeline DSL: what a project writes in TypeScript and `definePipeline` validates.
 * Step outputs travel inside the state machine's JSON state, which Step Functions caps at
 * 256 KB, so steps return small JSON objects (metrics, artifact URIs) and write data to
 * the artifact store, passing URIs (data by reference).
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** Step names become ASL state names and JSONPath segments, hence identifier-like. */
export const STEP_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
/** Pipeline names become state machine and resource names. */
export const PIPELINE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** What a step's code receives, locally and in the step Lambda alike. */
export interface StepContext<P = Record<string, unknown>> {
  runId: string;
  pipeline: string;
  step: string;
  /** The run's parameters, parsed by the pipeline's zod schema. */
  params: P;
  /** Outputs of the steps this one depends on, by step name. */
  inputs: Record<string, Json>;
  /** Inside a map: the element of the list being processed and its position. */
  item?: Json;
  index?: number;
  /** Logical date of scheduled and backfill runs (YYYY-MM-DD, like Airflow's `ds`). */
  ds?: string;
  /** Where this step may write artifacts; pass `artifacts.uri(path)` downstream. */
  artifacts: ArtifactStore;
  /** A unique prefix for this step's artifacts: pipelines/<pipeline>/<runId>/<step>[/<index>]. */
  artifactPrefix: string;
  /** Appends a line to the step's log (kept in the artifact store with the run). */
  log(line: string): void;
}

// biome-ignore lint/suspicious/noExplicitAny: handlers are written inline in a steps array, where the pipeline's params type cannot reach them; `params` is parsed by its schema before any handler runs
export type StepHandler = (ctx: StepContext<any>) => Promise<JsonObject> | JsonObject;

const retrySchema = z
  .object({
    /** Attempts after the first (0 = no retry). */
    maxAttempts: z.number().int().min(0).max(10).default(2),
    intervalSeconds: z.number().int().min(1).max(3600).default(1),
    backoffRate: z.number().min(1).max(10).default(2),
    maxDelaySeconds: z.number().int().min(1).max(86400).optional(),
    /** ASL error names to retry; default every error except a bad payload. */
    errors: z.array(z.string().min(1)).min(1).default(["States.ALL"]),
  })
  .strict();

const commonSchema = {
  name: z.string().regex(STEP_NAME, "step names are letters, digits and _ (max 40), starting with a letter"),
  dependsOn: z.array(z.string()).default([]),
  retry: retrySchema.optional(),
  timeoutSeconds: z.number().int().min(1).max(31_536_000).optional(),
  /** "fail" stops the pipeline (running its on-failure hook); "continue" records the error and skips dependants. */
  onFailure: z.enum(["fail", "continue"]).default("fail"),
  /** Step caching; false opts this step out. */
  cache: z.boolean().default(true),
  description: z.string().optional(),
};

const handlerSchema = z.custom<StepHandler>((v) => typeof v === "function", "handler must be a function");

const lambdaBody = {
  kind: z.literal("lambda"),
  handler: handlerSchema,
  /** Lambda memory in MB for the AWS deployment. */
  memory: z.number().int().min(128).max(10240).default(1024),
};

const containerBody = {
  kind: z.literal("container"),
  image: z.string().min(1),
  /** argv of the process: locally run on this machine as a child process, in AWS the container entrypoint. */
  command: z.array(z.string().min(1)).min(1),
  cpu: z.number().positive().default(2),
  /** MiB. */
  memory: z.number().int().positive().default(4096),
  gpu: z.number().int().min(0).max(8).default(0),
  /** Overrides the instance type derived from cpu/memory/gpu (e.g. "ml.g5.2xlarge"). */
  instanceType: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
};

const builtinBody = {
  kind: z.literal("builtin"),
  /** Name of a registered built-in step kind, e.g. "registerModel". */
  uses: z.string().min(1),
  /** Its static configuration, validated by the kind's own zod schema at compile time. */
  with: z.record(z.string(), z.unknown()).default({}),
};

export const lambdaStepSchema = z.object({ ...commonSchema, ...lambdaBody }).strict();
export const containerStepSchema = z.object({ ...commonSchema, ...containerBody }).strict();
export const builtinStepSchema = z.object({ ...commonSchema, ...builtinBody }).strict();

/** What a map runs per element: a lambda, container or built-in step without name/dependencies. */
const mapBodySchema = z.discriminatedUnion("kind", [
  z.object(lambdaBody).strict(),
  z.object(containerBody).strict(),
  z.object(builtinBody).strict(),
]);

export const mapStepSchema = z
  .object({
    ...commonSchema,
    kind: z.literal("map"),
    /** "<step>.<path>" naming a list in an earlier step's output, e.g. "plan.trials". */
    over: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$/, 'over must look like "<step>.<field>"'),
    maxConcurrency: z.number().int().min(0).max(1000).default(4),
    run: mapBodySchema,
  })
  .strict();

export type ConditionOp = ">=" | ">" | "<=" | "<" | "==" | "!=";
export type Condition =
  | string
  | { ref: string; op: ConditionOp; value: number | string | boolean }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.string().min(1),
    z.object({
      ref: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$/),
      op: z.enum([">=", ">", "<=", "<", "==", "!="]),
      value: z.union([z.number(), z.string(), z.boolean()]),
    }),
    z.object({ all: z.array(conditionSchema).min(1) }),
    z.object({ any: z.array(conditionSchema).min(1) }),
    z.object({ not: conditionSchema }),
  ]),
);

export const gateStepSchema = z
  .object({
    name: commonSchema.name,
    dependsOn: commonSchema.dependsOn,
    description: commonSchema.description,
    kind: z.literal("gate"),
    /** e.g. "evaluate.auc >= 0.95"; the gate depends on every step it reads. */
    condition: conditionSchema,
    /** Steps that run only when the condition holds / does not hold (the others are skipped). */
    ifTrue: z.array(z.string()).default([]),
    ifFalse: z.array(z.string()).default([]),
  })
  .strict();

export const stepSchema = z.discriminatedUnion("kind", [
  lambdaStepSchema,
  containerStepSchema,
  builtinStepSchema,
  mapStepSchema,
  gateStepSchema,
]);

export type StepInput = z.input<typeof stepSchema>;
export type Step = z.output<typeof stepSchema>;
export type TaskStep = Extract<Step, { kind: "lambda" | "container" | "builtin" }>;
export type MapStep = Extract<Step, { kind: "map" }>;
export type GateStep = Extract<Step, { kind: "gate" }>;
export type MapBody = MapStep["run"];
export type RetryPolicy = z.output<typeof retrySchema>;

export const scheduleSchema = z
  .object({
    /** Five-field cron in UTC: minute hour day-of-month month day-of-week. */
    cron: z.string().min(1),
    /** Parameters of scheduled runs (the logical date is added as `ds`). */
    params: z.record(z.string(), z.unknown()).default({}),
    enabled: z.boolean().default(true),
  })
  .strict();

const pipelineSchema = z
  .object({
    name: z
      .string()
      .regex(PIPELINE_NAME, "pipeline names are lowercase letters, digits and - (max 40)")
      // "/api/v1/pipelines/runs" lists runs, so no pipeline may be called that.
      .refine((n) => n !== "runs", '"runs" is reserved'),
    description: z.string().optional(),
    /** Code version mixed into every cache key; bump it to invalidate cached steps. */
    version: z.string().default("1"),
    params: z.custom<z.ZodType>((v) => v instanceof z.ZodType, "params must be a zod schema"),
    schedule: z
      .union([
        z
          .string()
          .min(1)
          .transform((cron) => ({ cron, params: {}, enabled: true })),
        scheduleSchema,
      ])
      .optional(),
    steps: z.array(z.unknown()).min(1, "a pipeline needs at least one step"),
    /** Runs when the pipeline fails (e.g. a notification); receives the error in `inputs.error`. */
    onFailure: z
      .union([
        lambdaStepSchema.omit({ name: true, dependsOn: true }).partial({ onFailure: true }),
        builtinStepSchema.omit({ name: true, dependsOn: true }),
      ])
      .optional(),
    /** Maximum bytes of one step's JSON output (Step Functions caps the whole state at 256 KB). */
    maxOutputBytes: z.number().int().min(256).max(200_000).default(32_768),
  })
  .strict();

export interface PipelineDefinition<P extends z.ZodType = z.ZodType> {
  readonly kind: "keel.pipeline";
  name: string;
  description?: string;
  version: string;
  params: P;
  schedule?: z.output<typeof scheduleSchema>;
  steps: Step[];
  onFailure?: Extract<Step, { kind: "lambda" | "builtin" }> | undefined;
  maxOutputBytes: number;
}

export interface PipelineInput<P extends z.ZodType> {
  name: string;
  description?: string;
  version?: string;
  params: P;
  schedule?: string | z.input<typeof scheduleSchema>;
  steps: StepInput[];
  onFailure?:
    | Omit<z.input<typeof lambdaStepSchema>, "name" | "dependsOn">
    | Omit<z.input<typeof builtinStepSchema>, "name" | "dependsOn">;
  maxOutputBytes?: number;
}

function issues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((i) => `${[prefix, ...i.path].filter((p) => p !== "").join(".")}: ${i.message}`)
    .join("; ");
}

/**
 * Declares a pipeline. Validates its shape (names, kinds, options) and returns a frozen
 * definition; graph checks (cycles, unknown or duplicate names) happen in `compilePipeline`,
 * which every registration and `keel pipeline compile` run.
 */
export function definePipeline<P extends z.ZodType>(input: PipelineInput<P>): PipelineDefinition<P> {
  const parsed = pipelineSchema.safeParse(input);
  if (!parsed.success)
    throw badDefinition(`invalid pipeline "${input?.name ?? "?"}": ${issues(parsed.error, "")}`);
  const steps = parsed.data.steps.map((raw, i) => {
    const r = stepSchema.safeParse(raw);
    const label = (raw as { name?: unknown })?.name;
    if (!r.success)
      throw badDefinition(
        `invalid step ${typeof label === "string" ? `"${label}"` : `#${i}`} in pipeline "${parsed.data.name}": ${issues(r.error, "")}`,
      );
    return r.data;
  });
  const onFailure = parsed.data.onFailure
    ? ({
        ...parsed.data.onFailure,
        name: "onFailure",
        dependsOn: [],
        onFailure: "fail",
      } as PipelineDefinition["onFailure"])
    : undefined;
  return Object.freeze({
    kind: "keel.pipeline" as const,
    name: parsed.data.name,
    description: parsed.data.description,
    version: parsed.data.version,
    params: input.params,
    schedule: parsed.data.schedule,
    steps,
    onFailure,
    maxOutputBytes: parsed.data.maxOutputBytes,
  });
}

export function isPipelineDefinition(v: unknown): v is PipelineDefinition {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "keel.pipeline";
}
