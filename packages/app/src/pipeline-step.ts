import type { Clock, KeelConfig } from "@keel/core";
import { systemClock } from "@keel/core";
import {
  BuiltinStepRegistry,
  createStepLambdaHandler,
  type Json,
  type PipelineDefinition,
} from "@keel/pipelines";
import { lambdaValidateStepKind } from "@keel/validation";
import { createArtifacts, createMetadataStore } from "./adapters";

/**
 * The built-in step kinds the deployed platform registers, the same in the Pipelines stack
 * (which compiles against them) and in the step Lambda (which runs them): `validate` there
 * refuses to compile, with the reason (DuckDB is not in Lambda bundles).
 */
export function awsBuiltinSteps(): BuiltinStepRegistry {
  return new BuiltinStepRegistry([lambdaValidateStepKind()]);
}

/**
 * The pipeline-step Lambda's wiring (`functions/pipeline-step.ts`): the project's pipelines
 * over the metadata and artifact stores the config names.
 */
export function createPipelineStepHandler(
  config: KeelConfig,
  pipelines: PipelineDefinition[],
  opts: { clock?: Clock; builtins?: BuiltinStepRegistry } = {},
): (event: unknown) => Promise<Json> {
  return createStepLambdaHandler({
    pipelines,
    store: createMetadataStore(config),
    artifacts: createArtifacts(config),
    clock: opts.clock ?? systemClock,
    builtins: opts.builtins ?? awsBuiltinSteps(),
  });
}
