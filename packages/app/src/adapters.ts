import { join } from "node:path";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type ArtifactStore, createArtifactStore } from "@keel/artifacts";
import { type AuditSink, S3AuditSink } from "@keel/audit";
import { AWS_CALL_TIMEOUTS, AWS_TRANSFER_TIMEOUTS, ENV, type KeelConfig } from "@keel/core";
import { createOfflineStore, createOnlineStore, type OfflineStore, type OnlineStore } from "@keel/features";
import { DynamoDbMetadataStore, type MetadataStore } from "@keel/metadata";
import { type PipelineExecutor, StepFunctionsPipelineExecutor } from "@keel/pipelines";
import {
  callerAuthorization,
  createBedrockReranker,
  LanceDbVectorStore,
  type LlmClient,
  OpenAiHttpLlmClient,
  type VectorStore,
  withReranker,
} from "@keel/rag";
import { type CloudWatchLike, MemoryScoringQueue, type ScoringQueue, SqsScoringQueue } from "@keel/serving";
import { secretApiKey } from "./secret-api-key";

/**
 * Every adapter Keel runs on is chosen here, from the config alone: the Lambda entry points,
 * `keel dev` and the tests all get their backends through these factories (via createPlatform).
 */

/** The metadata store: DynamoDB (dynalite locally, at `core.dynamodbEndpoint`). */
export function createMetadataStore(config: KeelConfig): MetadataStore {
  return new DynamoDbMetadataStore({
    table: config.core.table,
    endpoint: config.core.dynamodbEndpoint,
    region: config.core.region,
  });
}

/** The artifact store: S3 for an s3:// root, a directory otherwise. */
export function createArtifacts(config: KeelConfig): ArtifactStore {
  return createArtifactStore(config.artifacts.root, { region: config.core.region });
}

/** The prediction log's own store when `monitoring.predictionLogRoot` names one; else the artifact store's `predictions/`. */
export function createPredictionLogStore(config: KeelConfig): ArtifactStore | undefined {
  const root = config.monitoring.predictionLogRoot;
  return root ? createArtifactStore(root, { region: config.core.region }) : undefined;
}

/**
 * Where approved versions are published (Triton layout): `serving.modelPublishRoot` (the
 * `models/` prefix in S3 in AWS), else the local model repository the in-process server loads.
 */
export function createModelPublishTarget(config: KeelConfig): ArtifactStore {
  const root =
    config.serving.modelPublishRoot ?? config.serving.modelRepository ?? join(config.core.dataDir, "models");
  return createArtifactStore(root, { region: config.core.region });
}

/** The feature store's online and offline stores (DynamoDB or CQL; DuckDB or Athena). */
export function createFeatureStores(config: KeelConfig): { online: OnlineStore; offline: OfflineStore } {
  return { online: createOnlineStore(config), offline: createOfflineStore(config) };
}

/** The asynchronous scoring queue: SQS when `serving.scoringQueueUrl` is set, in process otherwise. */
export function createScoringQueue(config: KeelConfig): ScoringQueue {
  const url = config.serving.scoringQueueUrl;
  return url
    ? new SqsScoringQueue(new SQSClient({ region: config.core.region, ...AWS_CALL_TIMEOUTS }), url)
    : new MemoryScoringQueue();
}

/** Where the router's in-flight gauge goes: CloudWatch when `serving.metricsNamespace` is set. */
export function createMetricsSink(config: KeelConfig): CloudWatchLike | undefined {
  return config.serving.metricsNamespace
    ? new CloudWatchClient({ region: config.core.region, ...AWS_CALL_TIMEOUTS })
    : undefined;
}

/** Where pipeline runs execute: Step Functions, or in process (undefined) for `local`. */
export function createPipelineExecutor(config: KeelConfig): PipelineExecutor | undefined {
  return config.pipelines.executor === "stepfunctions"
    ? new StepFunctionsPipelineExecutor({ region: config.core.region, stage: config.core.stage })
    : undefined;
}

/** The audit export's sink: the Object Lock bucket `audit.exportBucket`, under `audit/`. */
export function createAuditExportSink(config: KeelConfig): AuditSink {
  const bucket = config.audit.exportBucket;
  if (!bucket)
    throw new Error(`invalid Keel configuration: ${ENV.AUDIT_EXPORT_BUCKET} is required by the audit export`);
  return new S3AuditSink(
    new S3Client({ region: config.core.region, ...AWS_TRANSFER_TIMEOUTS }),
    bucket,
    "audit/",
  );
}

/** RAG's vector store: LanceDB on `rag.root` (a folder, default `<data dir>/rag`; `s3://` in AWS, queried from Lambda). */
export function createRagVectorStore(config: KeelConfig): VectorStore {
  const root = config.rag.root ?? join(config.core.dataDir, "rag");
  return new LanceDbVectorStore(root, root.startsWith("s3://") ? { region: config.core.region } : {});
}

/** The origin RAG uses to reach the platform's own gateway in process. */
export const SELF_GATEWAY = "http://keel.internal/llm/v1";

/**
 * RAG's model provider: the OpenAI-compatible server at `rag.llmUrl` with `rag.llmApiKey`, or
 * by default the platform's own gateway (`/llm/v1`), called in process as the caller (their
 * Authorization header), so the gateway's keys, budgets and guardrails apply.
 */
export function createRagLlmClient(config: KeelConfig, self: () => { request: typeof fetch }): LlmClient {
  const llm = createRagModelClient(config, self);
  if (config.rag.rerankProvider !== "bedrock") return llm;
  return withReranker(llm, createBedrockReranker(config.core.region));
}

function createRagModelClient(config: KeelConfig, self: () => { request: typeof fetch }): LlmClient {
  const auth = (): Record<string, string> => {
    const a = callerAuthorization();
    return a ? { authorization: a } : {};
  };
  // A key from config or Secrets Manager (pipeline steps, which have no caller); without one the
  // caller's own token goes along (in AWS the URL is the stage's gateway, which accepts platform
  // tokens: its keys and budgets apply to the caller, as in process).
  const { llmApiKey, llmApiKeySecret } = config.rag;
  const apiKey = llmApiKey ?? (llmApiKeySecret ? secretApiKey(llmApiKeySecret) : undefined);
  const headers = apiKey ? undefined : auth;
  if (config.rag.llmUrl)
    return new OpenAiHttpLlmClient({
      baseUrl: config.rag.llmUrl,
      apiKey,
      rerankUrl: config.rag.rerankUrl,
      headers,
    });
  return new OpenAiHttpLlmClient({
    baseUrl: SELF_GATEWAY,
    apiKey,
    rerankUrl: config.rag.rerankUrl,
    headers,
    fetch: (input, init) => self().request(input, init),
  });
}
