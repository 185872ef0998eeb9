import { StoreAuditLog } from "@keel/audit";
import type { Clock, KeelConfig } from "@keel/core";
import { KeelError, systemClock } from "@keel/core";
import {
  BuiltinStepRegistry,
  createStepLambdaHandler,
  type Json,
  type PipelineDefinition,
} from "@keel/pipelines";
import { TrackingService } from "@keel/tracking";
import { AthenaValidationEngine, lambdaValidateStepKind } from "@keel/validation";
import { createArtifacts, createMetadataStore } from "./adapters";

/**
 * The built-in step kinds the deployed platform registers, the same in the Pipelines stack
 * (which compiles against them; no config there) and in the step Lambda (which runs them):
 * `validate` runs its suite with Athena over the Glue database and workgroup of the config's
 * offline store, recording runs through the tracking service over the metadata store.
 */
export function awsBuiltinSteps(config?: KeelConfig, clock: Clock = systemClock): BuiltinStepRegistry {
  return new BuiltinStepRegistry([
    lambdaValidateStepKind(
      config &&
        (() => {
          const { glueDatabase, athenaWorkgroup } = config.offline;
          if (!glueDatabase || !athenaWorkgroup)
            throw new KeelError(
              "INVALID_PARAMETER_VALUE",
              "the validate step needs KEEL_GLUE_DATABASE and KEEL_ATHENA_WORKGROUP (the Features stack's Glue database and Athena workgroup)",
            );
          const store = createMetadataStore(config);
          const artifacts = createArtifacts(config);
          return {
            engine: new AthenaValidationEngine({
              region: config.core.region,
              database: glueDatabase,
              workgroup: athenaWorkgroup,
              // Inside the step Lambda's 15 minutes, leaving time to record the report.
              timeoutMs: 12 * 60_000,
            }),
            tracking: new TrackingService({
              store,
              artifacts,
              audit: new StoreAuditLog(store, clock),
              clock,
              config: { artifactRoot: config.artifacts.root },
            }),
          };
        }),
    ),
  ]);
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
  const clock = opts.clock ?? systemClock;
  return createStepLambdaHandler({
    pipelines,
    store: createMetadataStore(config),
    artifacts: createArtifacts(config),
    clock,
    builtins: opts.builtins ?? awsBuiltinSteps(config, clock),
  });
}
