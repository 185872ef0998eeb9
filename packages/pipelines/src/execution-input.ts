import { z } from "zod";
import type { JsonObject, PipelineDefinition } from "./definition";
import { StepFailure } from "./errors";

/**
 * The JSON a state machine execution is started with. This is the documented contract for
 * starting a pipeline from the AWS console or any SDK; `keel.validate` (the first state)
 * checks it and fails the execution with `Keel.InvalidInput` naming each bad field.
 */
export const executionInputSchema = z
  .object({
    /** Defaults to the execution name. */
    runId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,80}$/, "runId is 1-80 of A-Z a-z 0-9 _ -")
      .optional(),
    /** The pipeline's parameters, validated by its zod schema. */
    params: z.record(z.string(), z.unknown()).default({}),
    /** Skip cache lookups for every step of this run. */
    noCache: z.boolean().default(false),
    /**
     * When a schedule started the run (EventBridge Scheduler's <aws.scheduler.scheduled-time>):
     * its date becomes `params.ds` unless the params name one.
     */
    scheduledTime: z.iso.datetime({ offset: true }).optional(),
    /** Outputs of steps to reuse instead of running them (set when a failed run is resumed). */
    reuse: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  })
  .strict();

export type ExecutionInput = z.input<typeof executionInputSchema>;

/** The state every step sees under `$.keel`. */
export interface RunInfo {
  runId: string;
  pipeline: string;
  params: JsonObject;
  noCache: boolean;
  [k: string]: unknown;
}

/** Implements `keel.validate`: parses the execution input and returns the initial state. */
export function validateExecutionInput(def: PipelineDefinition, raw: unknown): JsonObject {
  const { input, executionName } = (raw ?? {}) as { input?: unknown; executionName?: string };
  const parsed = executionInputSchema.safeParse(input);
  const fail = (why: string) =>
    new StepFailure("Keel.InvalidInput", `invalid input for pipeline "${def.name}": ${why}`);
  if (!parsed.success)
    throw fail(parsed.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; "));
  const { scheduledTime } = parsed.data;
  const rawParams =
    scheduledTime && parsed.data.params.ds === undefined
      ? { ...parsed.data.params, ds: scheduledTime.slice(0, 10) }
      : parsed.data.params;
  const params = def.params.safeParse(rawParams);
  if (!params.success)
    throw fail(params.error.issues.map((i) => `params.${i.path.join(".")}: ${i.message}`).join("; "));
  const unknownReuse = Object.keys(parsed.data.reuse).filter((s) => !def.steps.some((x) => x.name === s));
  if (unknownReuse.length) throw fail(`reuse names unknown steps: ${unknownReuse.join(", ")}`);
  const runId = parsed.data.runId ?? executionName;
  if (!runId) throw fail("runId is required when the execution has no name");
  const keel = { runId, pipeline: def.name, params: params.data as JsonObject, noCache: parsed.data.noCache };
  return { keel, reuse: parsed.data.reuse as JsonObject, steps: {}, skipped: {} } as JsonObject;
}
