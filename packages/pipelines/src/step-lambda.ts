import type { ArtifactStore } from "@keel/artifacts";
import { type Clock, parseWith } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { z } from "zod";
import type { BuiltinStepRegistry } from "./builtin-steps";
import { compilePipeline, STATE } from "./compiler";
import type { Json, JsonObject, PipelineDefinition } from "./definition";
import { StepFailure } from "./errors";
import { validateExecutionInput } from "./execution-input";
import { RunStore } from "./run-store";
import { StepCache } from "./step-cache";
import { StepRuntime } from "./step-runtime";

/** What the compiled Task states send the step Lambda (see compiler.ts `taskBody`). */
const stepEventSchema = z.object({
  action: z.enum(["validate", "step"]),
  pipeline: z.string().min(1),
  step: z.string().optional(),
  executionId: z.string().optional(),
  index: z.number().int().optional(),
});

/**
 * The handler behind `functions/pipeline-step.ts`: runs `keel.validate` and the lambda-kind
 * (and Lambda-backed built-in) steps of the deployed pipelines with the same StepRuntime the
 * in-process runner uses. Validation also records the run, so runs started from the console
 * or by EventBridge Scheduler show up in Keel's run history.
 */
export function createStepLambdaHandler(deps: {
  pipelines: PipelineDefinition[];
  store: MetadataStore;
  artifacts: ArtifactStore;
  clock: Clock;
  builtins?: BuiltinStepRegistry;
}): (event: unknown) => Promise<Json> {
  const runs = new RunStore(deps.store, deps.clock);
  const cache = new StepCache(deps.store, deps.clock);
  const byName = new Map(
    deps.pipelines.map((def) => {
      const compiled = compilePipeline(def, { validate: false, builtins: deps.builtins });
      return [
        def.name,
        {
          def,
          runtime: new StepRuntime({
            def,
            compiled,
            artifacts: deps.artifacts,
            builtins: deps.builtins,
            cache,
            runs,
          }),
        },
      ];
    }),
  );
  return async (event) => {
    const e = parseWith(stepEventSchema, event, "pipeline step event");
    const p = byName.get(e.pipeline);
    if (!p)
      throw new StepFailure("Keel.UnknownPipeline", `this function does not run pipeline "${e.pipeline}"`);
    if (e.action === "validate") {
      const state = validateExecutionInput(p.def, event);
      const keel = state.keel as { runId: string; params: JsonObject; noCache: boolean };
      const scheduled = Boolean((event as { input?: { scheduledTime?: string } }).input?.scheduledTime);
      await runs.createRun({
        runId: keel.runId,
        pipeline: p.def.name,
        status: "RUNNING",
        params: keel.params,
        noCache: keel.noCache,
        trigger: scheduled ? "schedule" : "api",
        principal: "aws:states",
        startTime: deps.clock.now(),
        ...(e.executionId ? { executionId: e.executionId } : {}),
      });
      return state;
    }
    if (!e.step) throw new StepFailure("Keel.InvalidInput", "a step event names its step");
    const state =
      e.step === "onFailure" ? STATE.onFailure : e.index !== undefined ? `${e.step}.item` : e.step;
    return p.runtime.invoke(state, event as Json);
  };
}
