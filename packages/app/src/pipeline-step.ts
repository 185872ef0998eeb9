import type { ArtifactStore } from "@keel/artifacts";
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
import { lambdaValidateStepKind } from "@keel/validation";
import { createArtifacts, createMetadataStore, createRagLlmClient, createRagVectorStore } from "./adapters";

/**
 * The built-in step kinds the deployed platform registers, the same in the Pipelines stack
 * (which compiles against them, with no config) and in the step Lambda (which runs them):
 * `validate` there refuses to compile, with the reason (DuckDB is not in Lambda bundles);
 * `rag.ingest` runs in the Lambda over LanceDB at `rag.root` (the stage bucket's `rag/`).
 */
export function awsBuiltinSteps(config?: KeelConfig, clock: Clock = systemClock): BuiltinStepRegistry {
  let rag: RagService | undefined;
  const service = () => {
    if (!config) throw new KeelError("INTERNAL_ERROR", "rag.ingest runs only in the step Lambda");
    rag ??= new RagService({
      store: createMetadataStore(config),
      vectors: createRagVectorStore(config),
      llm: createRagLlmClient(config, () => ({
        request: () =>
          Promise.reject(
            new Error(
              "the pipeline-step Lambda has no gateway in process: set KEEL_RAG_LLM_URL (and KEEL_RAG_LLM_API_KEY) for knowledge bases with an embedding model",
            ),
          ),
      })),
      clock,
    });
    return rag;
  };
  return new BuiltinStepRegistry([
    lambdaValidateStepKind(),
    ragIngestStep(service) as BuiltinStepKind<unknown>,
  ]);
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
