import type { ArtifactStore } from "@keel/artifacts";
import { StoreAuditLog } from "@keel/audit";
import type { Clock, KeelConfig } from "@keel/core";
import { KeelError, systemClock } from "@keel/core";
import {
  type BuiltinStepKind,
  BuiltinStepRegistry,
  createStepLambdaHandler,
  type Json,
  type PipelineDefinition,
} from "@keel/pipelines";
import { RagService, ragIngestStep } from "@keel/rag";
import { TrackingService } from "@keel/tracking";
import { AthenaValidationEngine, lambdaValidateStepKind } from "@keel/validation";
import { createArtifacts, createMetadataStore, createRagLlmClient, createRagVectorStore } from "./adapters";

/**
 * The built-in step kinds the deployed platform registers, the same in the Pipelines stack
 * (which compiles against them; no config there) and in the step Lambda (which runs them):
 * `validate` runs its suite with Athena over the Glue database and workgroup of the config's
 * offline store, recording runs through the tracking service over the metadata store;
 * `rag.ingest` runs over LanceDB at `rag.root` (the stage bucket's `rag/`).
 */
export function awsBuiltinSteps(config?: KeelConfig, clock: Clock = systemClock): BuiltinStepRegistry {
  return new BuiltinStepRegistry([
    lambdaValidateStepKind(config && (() => athenaValidation(config, clock))),
    ragIngestStep(ragInLambda(config, clock)) as BuiltinStepKind<unknown>,
  ]);
}

function athenaValidation(config: KeelConfig, clock: Clock) {
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
}

/** The RAG service `rag.ingest` uses in the step Lambda, made on first use. */
function ragInLambda(config: KeelConfig | undefined, clock: Clock): () => RagService {
  let rag: RagService | undefined;
  return () => {
    if (!config) throw new KeelError("INTERNAL_ERROR", "rag.ingest runs only in the step Lambda");
    rag ??= new RagService({
      store: createMetadataStore(config),
      vectors: createRagVectorStore(config),
      llm: createRagLlmClient(config, () => ({
        request: () =>
          Promise.reject(
            new Error(
              "the pipeline-step Lambda has no gateway in process: set KEEL_RAG_LLM_URL and KEEL_RAG_LLM_API_KEY or KEEL_RAG_LLM_API_KEY_SECRET (the stage setting rag.ingestKeySecretName) for knowledge bases with an embedding model",
            ),
          ),
      })),
      clock,
    });
    return rag;
  };
}

/**
 * The pipeline-step Lambda's wiring (`functions/pipeline-step.ts`): the project's pipelines
 * over the metadata and artifact stores the config names.
 */
export function createPipelineStepHandler(
  config: KeelConfig,
  pipelines: PipelineDefinition[],
  opts: { clock?: Clock; builtins?: BuiltinStepRegistry; artifacts?: ArtifactStore } = {},
): (event: unknown) => Promise<Json> {
  const clock = opts.clock ?? systemClock;
  return createStepLambdaHandler({
    pipelines,
    store: createMetadataStore(config),
    artifacts: opts.artifacts ?? createArtifacts(config),
    clock,
    builtins: opts.builtins ?? awsBuiltinSteps(config, clock),
  });
}
