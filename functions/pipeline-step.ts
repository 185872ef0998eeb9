import { createPipelineStepHandler } from "@keel/app";
import { loadConfig, ROLES, withContext } from "@keel/core";
import type { Json } from "@keel/pipelines";
import { pipelines } from "@keel-project/pipelines";

/**
 * The Lambda behind the pipelines' Task states in AWS (`stacks/Pipelines.ts`): input
 * validation (`keel.validate`) and lambda steps of the project's pipelines (bundled from the
 * entry named at deploy). Errors propagate with their names (Keel.InvalidInput,
 * Keel.PayloadTooLarge...) so the state machine's Retry/Catch see them.
 */
const run = createPipelineStepHandler(loadConfig(), pipelines);

export async function handler(event: unknown): Promise<Json> {
  return withContext(
    { principal: "aws:states", requestId: "pipeline-step", roles: ROLES, kind: "service" },
    () => run(event),
  );
}
