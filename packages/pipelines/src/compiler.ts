import { digest } from "@keel/core";
import validator from "asl-validator";
import type { AslBindings, BuiltinStepRegistry } from "./builtin-steps";
import { conditionToAsl } from "./condition";
import type {
  GateStep,
  JsonObject,
  MapBody,
  MapStep,
  PipelineDefinition,
  RetryPolicy,
  Step,
  TaskStep,
} from "./definition";
import { badDefinition } from "./errors";
import { buildGraph, type PipelineGraph } from "./graph";

/** Names of the states the compiler adds around the steps (step names cannot contain "."). */
export const STATE = {
  validate: "keel.validate",
  output: "keel.output",
  onFailure: "keel.onFailure",
  failed: "keel.failed",
} as const;

/** What a state of the compiled machine stands for; run history is recorded through it. */
export type StateRole =
  | { role: "validate" | "output" | "failed" | "level" }
  | { role: "hook"; step: "onFailure" }
  | { role: "task" | "map" | "item" | "gate" | "check" | "skip" | "reuse" | "branch"; step: string };

/** The kind of Task a state runs, for the local runner to pick its handler. */
export type TaskBinding =
  | { kind: "validate" }
  | { kind: "step"; step: string; body: TaskStep | MapBody; inMap: boolean };

export interface CompiledPipeline {
  pipeline: string;
  /** The Amazon States Language definition (JSONPath), deterministic for a given pipeline and bindings. */
  definition: AslDefinition;
  states: Record<string, StateRole>;
  /** Task states by name: what the in-process runner overrides. */
  tasks: Record<string, TaskBinding>;
  levels: string[][];
  deps: Record<string, string[]>;
  /** Hash of each step's static spec (config, handler source, pipeline version): part of its cache key. */
  specHashes: Record<string, string>;
}

export type AslState = Record<string, unknown>;
export interface AslDefinition {
  Comment: string;
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}

export interface CompileOptions {
  bindings?: Partial<AslBindings>;
  builtins?: BuiltinStepRegistry;
  /**
   * Check the output with asl-validator (default true). It builds its JSON schemas on every
   * call (~0.3-1 s here), so callers compiling many variants in a loop may skip it.
   */
  validate?: boolean;
}

/** Stand-in ARNs for local runs (the in-process runner overrides every Task by state name). */
export const LOCAL_BINDINGS: AslBindings = {
  region: "us-east-1",
  account: "000000000000",
  stepFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:keel-pipeline-step",
  sagemakerRoleArn: "arn:aws:iam::000000000000:role/keel-sagemaker",
  artifactS3Uri: "s3://keel-local-artifacts/pipelines/",
};

const DEFAULT_TIMEOUT = { lambda: 900, builtin: 900, container: 86_400 } as const;
/** Errors that retrying cannot fix. */
const NEVER_RETRY = ["Keel.PayloadTooLarge", "Keel.InvalidInput"];

/**
 * Compiles a pipeline to Amazon States Language. Pure and deterministic: the same definition
 * and bindings give byte-identical JSON. Throws INVALID_PARAMETER_VALUE naming the problem for
 * cycles, unknown dependencies, duplicate names, bad built-in configs, or (never expected)
 * output that asl-validator rejects.
 *
 * Shape: `keel.validate` (checks and normalizes the execution input) then one unit per level
 * of the DAG (a single step's states, or a Parallel with one branch per step whose outputs are
 * merged with States.JsonMerge), then `keel.output`. The state is
 * `{keel: {runId, pipeline, params, noCache, ds}, reuse, steps: {<name>: output}, skipped: {<name>: why}}`.
 */
export function compilePipeline(def: PipelineDefinition, opts: CompileOptions = {}): CompiledPipeline {
  const bindings: AslBindings = { ...LOCAL_BINDINGS, ...opts.bindings };
  const graph = buildGraph(def);
  const c = new Compilation(def, graph, bindings, opts.builtins);
  const definition = c.build();
  if (opts.validate !== false) {
    // The validator annotates what it is given, hence the copy.
    const check = validator(structuredClone(definition), { checkPaths: true, checkArn: false });
    if (!check.isValid)
      throw badDefinition(`pipeline "${def.name}" compiled to invalid ASL: ${check.errorsText("; ")}`);
  }
  return {
    pipeline: def.name,
    definition,
    states: c.states,
    tasks: c.tasks,
    levels: graph.levels,
    deps: Object.fromEntries(graph.deps),
    specHashes: c.specHashes,
  };
}

/** Hash of what a step does, independent of any run: its config and, for code, the handler's source. */
export function stepSpecHash(version: string, body: TaskStep | MapBody): string {
  const { handler, ...rest } = body as TaskStep & { handler?: unknown };
  return digest({
    version,
    spec: rest,
    handler: typeof handler === "function" ? handler.toString() : undefined,
  });
}

class Compilation {
  readonly states: Record<string, StateRole> = {};
  readonly tasks: Record<string, TaskBinding> = {};
  readonly specHashes: Record<string, string> = {};

  constructor(
    private readonly def: PipelineDefinition,
    private readonly graph: PipelineGraph,
    private readonly bindings: AslBindings,
    private readonly builtins: BuiltinStepRegistry | undefined,
  ) {}

  build(): AslDefinition {
    const top: Record<string, AslState> = {};
    const hook = this.def.onFailure;
    const units = this.graph.levels.map((lvl, i) => ({
      lvl,
      entry: lvl.length === 1 ? `${lvl[0]}.check` : `keel.level${i}`,
    }));

    this.role(STATE.validate, { role: "validate" });
    this.tasks[STATE.validate] = { kind: "validate" };
    top[STATE.validate] = {
      Type: "Task",
      Resource: this.bindings.stepFunctionArn,
      Parameters: {
        action: "validate",
        pipeline: this.def.name,
        "input.$": "$",
        "executionName.$": "$$.Execution.Name",
        "executionId.$": "$$.Execution.Id",
      },
      TimeoutSeconds: 60,
      Next: units[0].entry,
    };

    units.forEach(({ lvl, entry }, i) => {
      const next = units[i + 1]?.entry ?? STATE.output;
      if (lvl.length === 1) {
        Object.assign(top, this.stepStates(lvl[0], next, hook !== undefined));
        return;
      }
      this.role(entry, { role: "level" });
      const merge = (field: string) =>
        lvl
          .slice(1)
          .reduce((acc, _, b) => `States.JsonMerge(${acc}, $[${b + 1}].${field}, false)`, `$[0].${field}`);
      top[entry] = {
        Type: "Parallel",
        Branches: lvl.map((name) => ({
          StartAt: `${name}.check`,
          States: this.stepStates(name, undefined, false),
        })),
        ResultSelector: {
          "keel.$": "$[0].keel",
          "reuse.$": "$[0].reuse",
          "steps.$": merge("steps"),
          "skipped.$": merge("skipped"),
        },
        ...this.catchToHook(hook !== undefined),
        Next: next,
      };
    });

    this.role(STATE.output, { role: "output" });
    top[STATE.output] = {
      Type: "Pass",
      Parameters: { "runId.$": "$.keel.runId", "steps.$": "$.steps", "skipped.$": "$.skipped" },
      End: true,
    };
    if (hook) {
      this.role(STATE.onFailure, { role: "hook", step: "onFailure" });
      this.role(STATE.failed, { role: "failed" });
      this.specHashes.onFailure = stepSpecHash(this.def.version, hook);
      this.tasks[STATE.onFailure] = { kind: "step", step: "onFailure", body: hook, inMap: false };
      top[STATE.onFailure] = {
        ...this.taskBody("onFailure", hook, { error: "$.error" }, false),
        ResultPath: "$.hook",
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.hookError", Next: STATE.failed }],
        Next: STATE.failed,
      };
      top[STATE.failed] = { Type: "Fail", ErrorPath: "$.error.Error", CausePath: "$.error.Cause" };
    }
    return {
      Comment: `Keel pipeline ${this.def.name} (version ${this.def.version})`,
      StartAt: STATE.validate,
      States: top,
    };
  }

  private role(state: string, role: StateRole): void {
    this.states[state] = role;
  }

  private catchToHook(enabled: boolean): AslState {
    return enabled
      ? { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: STATE.onFailure }] }
      : {};
  }

  /** The states of one step: a Choice deciding skip/reuse/run, then the step itself. `next` undefined = End. */
  private stepStates(name: string, next: string | undefined, hook: boolean): Record<string, AslState> {
    const step = this.graph.steps.get(name)!;
    const deps = this.graph.deps.get(name)!;
    const flow = next === undefined ? { End: true } : { Next: next };
    const out: Record<string, AslState> = {};
    const choices: AslState[] = [];
    if (this.graph.skippable.has(name)) {
      for (const d of deps) {
        if (this.graph.skippable.has(d))
          choices.push({ Variable: `$.skipped.${d}`, IsPresent: true, Next: `${name}.skip` });
      }
      // Checked after the gate's own skip rule above, so the gate's output exists here.
      for (const g of this.graph.gatedBy.get(name) ?? []) {
        choices.push({
          Variable: `$.steps.${g.gate}.passed`,
          BooleanEquals: !g.when,
          Next: `${name}.skip`,
        });
      }
    }
    // A continue-on-failure step may be "skipped" (failed) without any rule that skips it.
    if (choices.length) {
      this.role(`${name}.skip`, { role: "skip", step: name });
      out[`${name}.skip`] = {
        Type: "Pass",
        Result: { reason: "skipped: a gate chose another branch or a dependency did not run" },
        ResultPath: `$.skipped.${name}`,
        ...flow,
      };
    }
    if (step.kind !== "gate") {
      choices.push({ Variable: `$.reuse.${name}`, IsPresent: true, Next: `${name}.reuse` });
      this.role(`${name}.reuse`, { role: "reuse", step: name });
      out[`${name}.reuse`] = {
        Type: "Pass",
        InputPath: `$.reuse.${name}`,
        ResultPath: `$.steps.${name}`,
        ...flow,
      };
    }
    this.role(`${name}.check`, { role: "check", step: name });
    out[`${name}.check`] = choices.length
      ? { Type: "Choice", Choices: choices, Default: name }
      : { Type: "Pass", Next: name };
    Object.assign(out, this.stepBody(step, deps, flow, hook));
    return out;
  }

  private stepBody(step: Step, deps: string[], flow: AslState, hook: boolean): Record<string, AslState> {
    const name = step.name;
    if (step.kind === "gate") return this.gate(step, flow);
    const inputs = Object.fromEntries(deps.map((d) => [d, `$.steps.${d}`]));
    // onFailure "continue": the error lands in $.skipped.<name> (so dependants skip) and the flow goes on.
    const caught: Record<string, AslState> =
      step.onFailure === "continue" ? { [`${name}.caught`]: { Type: "Pass", ...flow } } : {};
    const onFailure =
      step.onFailure === "continue"
        ? {
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: `$.skipped.${name}`, Next: `${name}.caught` }],
          }
        : this.catchToHook(hook);
    if (step.kind === "map")
      return { [name]: { ...this.map(step, inputs), ...onFailure, ...flow }, ...caught };
    this.role(name, { role: "task", step: name });
    this.tasks[name] = { kind: "step", step: name, body: step, inMap: false };
    this.specHashes[name] = stepSpecHash(this.def.version, step);
    return {
      [name]: {
        ...this.taskBody(name, step, inputs, false),
        ResultPath: `$.steps.${name}`,
        ...this.retry(step.retry),
        ...onFailure,
        ...flow,
      },
      ...caught,
    };
  }

  private gate(step: GateStep, flow: AslState): Record<string, AslState> {
    const name = step.name;
    this.role(name, { role: "gate", step: name });
    const branch = (passed: boolean): AslState => {
      this.role(`${name}.${passed}`, { role: "branch", step: name });
      return { Type: "Pass", Result: { passed }, ResultPath: `$.steps.${name}`, ...flow };
    };
    return {
      [name]: {
        Type: "Choice",
        Choices: [{ ...conditionToAsl(step.condition, `gate "${name}"`), Next: `${name}.true` }],
        Default: `${name}.false`,
      },
      [`${name}.true`]: branch(true),
      [`${name}.false`]: branch(false),
    };
  }

  private map(step: MapStep, inputs: Record<string, string>): AslState {
    const name = step.name;
    const item = `${name}.item`;
    const [src, ...path] = step.over.split(".");
    this.role(name, { role: "map", step: name });
    this.role(item, { role: "item", step: name });
    this.tasks[item] = { kind: "step", step: name, body: step.run, inMap: true };
    this.specHashes[name] = stepSpecHash(this.def.version, step.run);
    const timeout = { timeoutSeconds: step.timeoutSeconds };
    return {
      Type: "Map",
      ItemsPath: `$.steps.${src}.${path.join(".")}`,
      MaxConcurrency: step.maxConcurrency,
      ItemSelector: {
        "keel.$": "$.keel",
        inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`${k}.$`, v])),
        "item.$": "$$.Map.Item.Value",
        "index.$": "$$.Map.Item.Index",
      },
      ItemProcessor: {
        StartAt: item,
        States: {
          [item]: {
            ...this.taskBody(name, { ...step.run, ...timeout }, inputs, true),
            ...this.retry(step.retry),
            End: true,
          },
        },
      },
      ResultSelector: { "results.$": "$" },
      ResultPath: `$.steps.${name}`,
    };
  }

  /** Resource and Parameters of a step's Task. Inside a map the inputs and item come from the ItemSelector. */
  private taskBody(
    name: string,
    body: (TaskStep | MapBody) & { timeoutSeconds?: number },
    inputs: Record<string, string>,
    inMap: boolean,
  ): AslState {
    const inputRef = (dep: string) => (inMap ? `$.inputs.${dep}` : inputs[dep]);
    const timeout = body.timeoutSeconds ?? DEFAULT_TIMEOUT[body.kind];
    if (body.kind === "container")
      return this.container(
        name,
        body,
        Object.keys(inputs).map((d) => [d, inputRef(d)]),
        inMap,
        timeout,
      );
    if (body.kind === "builtin") {
      const kind = this.builtins?.get(body.uses);
      if (!this.builtins)
        throw badDefinition(
          `step "${name}" uses built-in "${body.uses}" but no built-in steps are registered`,
        );
      const parsed = kind!.input.safeParse(body.with);
      if (!parsed.success) {
        const why = parsed.error.issues.map((i) => `${i.path.join(".") || "with"}: ${i.message}`).join("; ");
        throw badDefinition(`step "${name}": invalid config for built-in "${body.uses}": ${why}`);
      }
      if (kind!.asl) {
        const t = kind!.asl(parsed.data, { pipeline: this.def.name, step: name, bindings: this.bindings });
        return {
          Type: "Task",
          Resource: t.Resource,
          Parameters: t.Parameters,
          ...(t.ResultSelector ? { ResultSelector: t.ResultSelector } : {}),
          TimeoutSeconds: timeout,
        };
      }
    }
    const params: JsonObject = { action: "step", pipeline: this.def.name, step: name, "keel.$": "$.keel" };
    if (inMap) Object.assign(params, { "inputs.$": "$.inputs", "item.$": "$.item", "index.$": "$.index" });
    else params.inputs = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`${k}.$`, v]));
    return {
      Type: "Task",
      Resource: this.bindings.stepFunctionArn,
      Parameters: params,
      TimeoutSeconds: timeout,
    };
  }

  /** A container step is a SageMaker training job (`.sync`): the entrypoint is the command, run context in env. */
  private container(
    name: string,
    body: Extract<TaskStep | MapBody, { kind: "container" }>,
    inputs: Array<[string, string]>,
    inMap: boolean,
    timeout: number,
  ): AslState {
    const env: JsonObject = {
      ...body.env,
      KEEL_PIPELINE: this.def.name,
      KEEL_STEP: name,
      "KEEL_RUN_ID.$": "$.keel.runId",
      "KEEL_PARAMS.$": "States.JsonToString($.keel.params)",
      "KEEL_NO_CACHE.$": "States.JsonToString($.keel.noCache)",
    };
    for (const [dep, ref] of inputs) env[`KEEL_INPUT_${dep}.$`] = `States.JsonToString(${ref})`;
    if (inMap) {
      env["KEEL_ITEM.$"] = "States.JsonToString($.item)";
      env["KEEL_INDEX.$"] = "States.Format('{}', $.index)";
    }
    return {
      Type: "Task",
      Resource: "arn:aws:states:::sagemaker:createTrainingJob.sync",
      Parameters: {
        // Unique per attempt: SageMaker refuses to reuse a training job name, also on retry.
        "TrainingJobName.$": "States.UUID()",
        AlgorithmSpecification: {
          TrainingImage: body.image,
          TrainingInputMode: "File",
          ContainerEntrypoint: body.command,
        },
        RoleArn: this.bindings.sagemakerRoleArn,
        OutputDataConfig: { S3OutputPath: `${this.bindings.artifactS3Uri}${this.def.name}/${name}/` },
        ResourceConfig: {
          InstanceCount: 1,
          InstanceType: body.instanceType ?? instanceTypeFor(body),
          VolumeSizeInGB: 30,
        },
        StoppingCondition: { MaxRuntimeInSeconds: timeout },
        Environment: env,
        Tags: [
          { Key: "keel:pipeline", Value: this.def.name },
          { Key: "keel:step", Value: name },
        ],
      },
      ResultSelector: {
        "artifactUri.$": "$.ModelArtifacts.S3ModelArtifacts",
        "jobName.$": "$.TrainingJobName",
      },
      TimeoutSeconds: timeout,
    };
  }

  private retry(r: RetryPolicy | undefined): AslState {
    if (!r) return {};
    return {
      Retry: [
        { ErrorEquals: NEVER_RETRY, MaxAttempts: 0 },
        {
          ErrorEquals: r.errors,
          IntervalSeconds: r.intervalSeconds,
          MaxAttempts: r.maxAttempts,
          BackoffRate: r.backoffRate,
          ...(r.maxDelaySeconds ? { MaxDelaySeconds: r.maxDelaySeconds } : {}),
        },
      ],
    };
  }
}

/** The smallest SageMaker instance type that fits the requested resources. */
export function instanceTypeFor(r: { cpu: number; memory: number; gpu: number }): string {
  if (r.gpu > 0) {
    const sizes: Array<[number, string]> = [
      [1, "ml.g5.xlarge"],
      [4, "ml.g5.12xlarge"],
      [8, "ml.g5.48xlarge"],
    ];
    return sizes.find(([g]) => g >= r.gpu)![1];
  }
  const cpuSizes: Array<[number, number, string]> = [
    [2, 8192, "ml.m5.large"],
    [4, 16384, "ml.m5.xlarge"],
    [8, 32768, "ml.m5.2xlarge"],
    [16, 65536, "ml.m5.4xlarge"],
    [48, 196608, "ml.m5.12xlarge"],
    [96, 393216, "ml.m5.24xlarge"],
  ];
  const fit = cpuSizes.find(([c, m]) => c >= r.cpu && m >= r.memory);
  return fit ? fit[2] : "ml.m5.24xlarge";
}
