import type { z } from "zod";
import type { JsonObject, StepContext } from "./definition";
import { badDefinition } from "./errors";

/** ARNs and names the compiler writes into ASL; the stack passes real ones, local runs get stand-ins. */
export interface AslBindings {
  region: string;
  account: string;
  /** The Lambda that runs lambda-kind and Lambda-backed built-in steps (functions/pipeline-step.ts). */
  stepFunctionArn: string;
  /** Role SageMaker assumes for container (training job) steps. */
  sagemakerRoleArn: string;
  /** s3:// prefix training jobs write their model artifacts under. */
  artifactS3Uri: string;
}

/** The ASL Task a built-in step compiles to in AWS, and the IAM it needs. */
export interface BuiltinAslTask {
  /** e.g. "arn:aws:states:::sagemaker:createModel" or a Lambda ARN. */
  Resource: string;
  /** ASL Parameters (JSONPath). The step's dependency outputs are at `$.steps.<name>`, run info at `$.keel`. */
  Parameters: JsonObject;
  ResultSelector?: JsonObject;
  /** Statements the state machine role needs for this task. */
  policy: Array<{ actions: string[]; resources: string[] }>;
}

/**
 * A built-in step kind other areas plug in (register model, request promotion, materialize
 * features, deploy). A pipeline uses one with `{ kind: "builtin", uses: <name>, with: {...} }`.
 *
 * - `input` validates `with` when the pipeline is compiled (a bad config never reaches a run).
 * - `run` is the local handler, and also what the step Lambda runs in AWS unless `asl` is
 *   given; it must be idempotent for a given run id and step (it may be retried).
 * - `asl`, when present, makes the step a direct service integration in AWS instead.
 */
export interface BuiltinStepKind<I = unknown> {
  name: string;
  description: string;
  input: z.ZodType<I>;
  run(input: I, ctx: StepContext): Promise<JsonObject>;
  asl?(input: I, ctx: { pipeline: string; step: string; bindings: AslBindings }): BuiltinAslTask;
}

/** The set of built-in step kinds a platform offers. Names are unique. */
export class BuiltinStepRegistry {
  private readonly kinds = new Map<string, BuiltinStepKind>();

  constructor(kinds: BuiltinStepKind[] = []) {
    for (const k of kinds) this.register(k);
  }

  /** Adds a kind; a second kind with the same name is a wiring bug and throws. */
  register(kind: BuiltinStepKind): this {
    if (this.kinds.has(kind.name))
      throw badDefinition(`built-in step kind "${kind.name}" is already registered`);
    this.kinds.set(kind.name, kind);
    return this;
  }

  /** The kind by name; throws INVALID_PARAMETER_VALUE naming the known kinds when absent. */
  get(name: string): BuiltinStepKind {
    const k = this.kinds.get(name);
    if (!k) {
      const known = [...this.kinds.keys()].sort().join(", ") || "none registered";
      throw badDefinition(`unknown built-in step kind "${name}" (known: ${known})`);
    }
    return k;
  }

  list(): BuiltinStepKind[] {
    return [...this.kinds.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
