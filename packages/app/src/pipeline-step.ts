import type { Clock, KeelConfig } from "@keel/core";
import { systemClock } from "@keel/core";
import { createStepLambdaHandler, type Json, type PipelineDefinition } from "@keel/pipelines";
import { createArtifacts, createMetadataStore } from "./adapters";

/**
 * The pipeline-step Lambda's wiring (`functions/pipeline-step.ts`): the project's pipelines
 * over the metadata and artifact stores the config names.
 */
export function createPipelineStepHandler(
  config: KeelConfig,
  pipelines: PipelineDefinition[],
  opts: { clock?: Clock } = {},
): (event: unknown) => Promise<Json> {
  return createStepLambdaHandler({
    pipelines,
    store: createMetadataStore(config),
    artifacts: createArtifacts(config),
    clock: opts.clock ?? systemClock,
  });
}
