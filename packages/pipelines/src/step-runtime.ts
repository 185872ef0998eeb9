import type { ArtifactStore } from "@keel/artifacts";
import type { BuiltinStepRegistry } from "./builtin-steps";
import type { CompiledPipeline, TaskBinding } from "./compiler";
import { runContainerProcess } from "./container-process";
import type { Json, JsonObject, MapBody, PipelineDefinition, StepContext, TaskStep } from "./definition";
import { StepFailure } from "./errors";
import { validateExecutionInput } from "./execution-input";
import type { RunStore } from "./run-store";
import { cacheKey, type StepCache } from "./step-cache";

/** The run-dependent part of a Task's input, however the task received it. */
interface Call {
  runId: string;
  params: JsonObject;
  noCache: boolean;
  inputs: Record<string, Json>;
  item?: Json;
  index?: number;
  /** For container steps: the environment and time limit of the training job request. */
  container?: { env: Record<string, string>; timeoutSeconds: number };
}

export interface StepRuntimeDeps {
  def: PipelineDefinition;
  compiled: CompiledPipeline;
  artifacts: ArtifactStore;
  builtins?: BuiltinStepRegistry;
  cache?: StepCache;
  runs?: RunStore;
}

/**
 * Executes the Task states of one pipeline: `keel.validate` and every step. The in-process
 * runner calls it for each Task (by state name) and the step Lambda calls it in AWS, so a step
 * behaves the same in both. Around the step's own code it does caching, the payload-size
 * guard and log capture; status, attempts and times come from execution history instead.
 */
export class StepRuntime {
  constructor(private readonly deps: StepRuntimeDeps) {}

  /** Runs the Task state `state` with its ASL input; returns the Task's raw result. */
  async invoke(state: string, input: Json): Promise<Json> {
    const binding = this.deps.compiled.tasks[state];
    if (!binding)
      throw new StepFailure(
        "Keel.UnknownState",
        `pipeline "${this.deps.def.name}" has no task state "${state}"`,
      );
    if (binding.kind === "validate") return validateExecutionInput(this.deps.def, input);
    return this.runStep(binding, input);
  }

  private cacheEnabled(step: string): boolean {
    if (step === "onFailure") return false;
    const s = this.deps.def.steps.find((x) => x.name === step);
    return s !== undefined && s.kind !== "gate" && s.cache;
  }

  private async runStep(binding: Extract<TaskBinding, { kind: "step" }>, input: Json): Promise<Json> {
    const { def, compiled, artifacts, cache, runs } = this.deps;
    const { step, body } = binding;
    // Containers, and built-ins compiled to a training job (e.g. llm-finetune), get SageMaker's request.
    const training =
      body.kind === "container" || (input as { AlgorithmSpecification?: unknown })?.AlgorithmSpecification;
    const call = training ? fromContainerRequest(input) : fromStepPayload(input);
    const useCache = cache !== undefined && this.cacheEnabled(step) && !call.noCache;
    const key = cacheKey({
      spec: compiled.specHashes[step],
      params: call.params,
      inputs: call.inputs,
      item: call.item,
    });
    const record = (set: Parameters<RunStore["updateStep"]>[3]["set"]) =>
      runs?.updateStep(call.runId, step, call.index, { set });

    if (useCache) {
      const hit = await cache.get(def.name, step, key);
      if (hit) {
        await record({ cacheKey: key, cachedFrom: hit.runId });
        return hit.output;
      }
    }
    const prefix = `pipelines/${def.name}/${call.runId}/${step}${call.index === undefined ? "" : `/${call.index}`}`;
    const lines: string[] = [];
    const log = (line: string) => lines.push(`${new Date().toISOString()} ${line}`);
    let result: Json;
    try {
      result = await this.execute(body, { step, call, prefix, log });
    } finally {
      // A silent step costs no log object and no extra write (the per-step overhead matters).
      if (lines.length) {
        const logPath = `${prefix}/log.txt`;
        await artifacts.put(logPath, Buffer.from(`${lines.join("\n")}\n`));
        // The tail stays in the step record, so `keel pipeline show` needs no artifact read.
        await record({
          logUri: artifacts.uri(logPath),
          logTail: lines.slice(-20).join("\n").slice(-4000),
          cacheKey: key,
        });
      }
    }
    const size = Buffer.byteLength(JSON.stringify(result));
    if (size > def.maxOutputBytes) {
      throw new StepFailure(
        "Keel.PayloadTooLarge",
        `step "${step}" returned ${size} bytes of JSON (limit ${def.maxOutputBytes}): write large data to the artifact store and return its URI`,
      );
    }
    if (useCache) await cache.put(def.name, step, key, result, call.runId);
    return result;
  }

  private async execute(
    body: TaskStep | MapBody,
    at: { step: string; call: Call; prefix: string; log(line: string): void },
  ): Promise<Json> {
    const { def, artifacts } = this.deps;
    const ctx: StepContext = {
      runId: at.call.runId,
      pipeline: def.name,
      step: at.step,
      params: at.call.params,
      inputs: at.call.inputs,
      item: at.call.item,
      index: at.call.index,
      ds: typeof at.call.params.ds === "string" ? at.call.params.ds : undefined,
      artifacts,
      artifactPrefix: at.prefix,
      log: at.log,
    };
    if (body.kind === "container") {
      const { artifactUri } = await runContainerProcess({
        command: body.command,
        env: at.call.container?.env ?? {},
        timeoutSeconds: at.call.container?.timeoutSeconds ?? 86_400,
        artifacts,
        modelPath: `${at.prefix}/model`,
        log: at.log,
      });
      // The shape SageMaker's createTrainingJob.sync returns, so the same ResultSelector applies.
      return {
        TrainingJobName: `${at.call.runId}-${at.step}`,
        ModelArtifacts: { S3ModelArtifacts: artifactUri },
      };
    }
    const out = body.kind === "lambda" ? await body.handler(ctx) : await this.builtin(body, ctx);
    if (out === null || typeof out !== "object" || Array.isArray(out)) {
      throw new StepFailure(
        "Keel.InvalidOutput",
        `step "${at.step}" must return a JSON object, got ${Array.isArray(out) ? "an array" : typeof out}`,
      );
    }
    return JSON.parse(JSON.stringify(out)) as Json;
  }

  private async builtin(
    body: Extract<TaskStep | MapBody, { kind: "builtin" }>,
    ctx: StepContext,
  ): Promise<JsonObject> {
    if (!this.deps.builtins)
      throw new StepFailure(
        "Keel.UnknownBuiltin",
        `no built-in step kinds are registered (step "${ctx.step}")`,
      );
    const kind = this.deps.builtins.get(body.uses);
    return kind.run(kind.input.parse(body.with), ctx);
  }
}

function fromStepPayload(input: Json): Call {
  const p = input as {
    keel: { runId: string; params: JsonObject; noCache: boolean };
    inputs?: Record<string, Json>;
    item?: Json;
    index?: number;
  };
  return {
    runId: p.keel.runId,
    params: p.keel.params,
    noCache: p.keel.noCache,
    inputs: p.inputs ?? {},
    item: p.item,
    index: p.index,
  };
}

/** Reads the run context back out of a SageMaker CreateTrainingJob request's Environment. */
function fromContainerRequest(input: Json): Call {
  const req = input as {
    Environment?: Record<string, string>;
    StoppingCondition?: { MaxRuntimeInSeconds?: number };
  };
  const env = req.Environment ?? {};
  const inputs: Record<string, Json> = {};
  for (const [k, v] of Object.entries(env))
    if (k.startsWith("KEEL_INPUT_")) inputs[k.slice("KEEL_INPUT_".length)] = JSON.parse(v);
  return {
    runId: env.KEEL_RUN_ID,
    params: JSON.parse(env.KEEL_PARAMS ?? "{}"),
    noCache: env.KEEL_NO_CACHE === "true",
    inputs,
    item: env.KEEL_ITEM === undefined ? undefined : JSON.parse(env.KEEL_ITEM),
    index: env.KEEL_INDEX === undefined ? undefined : Number(env.KEEL_INDEX),
    container: { env, timeoutSeconds: req.StoppingCondition?.MaxRuntimeInSeconds ?? 86_400 },
  };
}
