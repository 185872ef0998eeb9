import { createArtifactStore } from "@keel/artifacts";
import { loadConfig, ROLES, systemClock, withContext } from "@keel/core";
import { DynamoDbMetadataStore } from "@keel/metadata";
import { createStepLambdaHandler, type Json } from "@keel/pipelines";
import { pipelines } from "../examples/pipelines";

/**
 * The Lambda behind the pipelines' Task states in AWS (`stacks/Pipelines.ts`): input
 * validation (`keel.validate`) and lambda-kind steps. Errors propagate with their names
 * (Keel.InvalidInput, Keel.PayloadTooLarge...) so the state machine's Retry/Catch see them.
 */
const config = loadConfig();
const run = createStepLambdaHandler({
  pipelines,
  store: new DynamoDbMetadataStore({ table: config.table, region: config.region }),
  artifacts: createArtifactStore(config.artifactRoot, { region: config.region }),
  clock: systemClock,
});

export async function handler(event: unknown): Promise<Json> {
  return withContext(
    { principal: "aws:states", requestId: "pipeline-step", roles: ROLES, kind: "service" },
    () => run(event),
  );
}
