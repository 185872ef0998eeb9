import type { Clock, Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { BuiltinStepKind } from "@keel/pipelines";
import type { Hono } from "hono";
import type { RagTracking } from "./evaluator";
import { ragIngestStep } from "./ingest-step";
import type { LlmClient } from "./llm-client";
import { createRagChatHandler } from "./openai-chat";
import { ragRoutes } from "./routes";
import { type RagAudit, RagService } from "./service";
import type { VectorStore } from "./vector-store";

export interface RagModuleDeps {
  store: MetadataStore;
  clock: Clock;
  log: Logger;
  audit?: RagAudit;
  /** Chosen by @keel/app: LanceDB on the data dir locally, on S3 in AWS. */
  vectors: VectorStore;
  /** Chosen by @keel/app: the platform's own gateway, or KEEL_RAG_LLM_URL. */
  llm: LlmClient;
  /** Evaluations are logged as tracking runs through this (TrackingService). */
  tracking?: RagTracking;
}

export interface RagModule {
  name: "rag";
  routes(app: Hono): void;
  stop(): Promise<void>;
  service: RagService;
  /** The `rag.ingest` built-in pipeline step kind. */
  steps: BuiltinStepKind[];
  /** Register on the gateway for model names `rag:<kb>` (OpenAI chat-completions in and out). */
  chatCompletions: ReturnType<typeof createRagChatHandler>;
}

/** The RAG module: knowledge bases, ingestion, retrieval, answers, evaluation (shaped like a KeelModule). */
export function createRagModule(deps: RagModuleDeps): RagModule {
  const service = new RagService(deps);
  return {
    name: "rag",
    routes: (app) => ragRoutes(app, service),
    stop: () => deps.vectors.close(),
    service,
    // biome-ignore lint/suspicious/noExplicitAny: the registry holds kinds of every input type
    steps: [ragIngestStep(service) as BuiltinStepKind<any>],
    chatCompletions: createRagChatHandler(service),
  };
}
