import {
  BedrockAgentRuntimeClient,
  RerankCommand,
  type RerankCommandInput,
  type RerankCommandOutput,
} from "@aws-sdk/client-bedrock-agent-runtime";
import { KeelError } from "@keel/core";
import type { RerankResult } from "./llm-client";
import type { RerankProvider } from "./rerank-provider";

/** What the adapter needs of `BedrockAgentRuntimeClient` (a stub in tests). */
export interface BedrockRerankClient {
  send(command: RerankCommand): Promise<RerankCommandOutput>;
}

export interface BedrockRerankOptions {
  /** The region the model ARN is built in (the client's region). */
  region: string;
  /** Used when the knowledge base names no rerank model. */
  defaultModel?: string;
  /** `aws` unless in another partition (aws-cn, aws-us-gov). */
  partition?: string;
}

/** Bedrock's reranker when none is named: Amazon Rerank 1.0. */
export const BEDROCK_DEFAULT_RERANK_MODEL = "amazon.rerank-v1:0";

/**
 * Reranking through Bedrock's Rerank API (bedrock-agent-runtime): the query and the candidate
 * texts sent inline, every candidate scored (`numberOfResults` = all of them), pages followed.
 * `model` is a foundation model id (`amazon.rerank-v1:0`, `cohere.rerank-v3-5:0`) or a full ARN.
 */
export class BedrockReranker implements RerankProvider {
  constructor(
    private readonly client: BedrockRerankClient,
    private readonly opts: BedrockRerankOptions,
  ) {}

  modelArn(model: string | undefined): string {
    const id = model ?? this.opts.defaultModel ?? BEDROCK_DEFAULT_RERANK_MODEL;
    if (id.startsWith("arn:")) return id;
    return `arn:${this.opts.partition ?? "aws"}:bedrock:${this.opts.region}::foundation-model/${id}`;
  }

  async rerank(model: string | undefined, query: string, texts: string[]): Promise<RerankResult[]> {
    if (texts.length === 0) return [];
    const base: RerankCommandInput = {
      queries: [{ type: "TEXT", textQuery: { text: query } }],
      sources: texts.map((text) => ({
        type: "INLINE",
        inlineDocumentSource: { type: "TEXT", textDocument: { text } },
      })),
      rerankingConfiguration: {
        type: "BEDROCK_RERANKING_MODEL",
        bedrockRerankingConfiguration: {
          numberOfResults: texts.length,
          modelConfiguration: { modelArn: this.modelArn(model) },
        },
      },
    };
    const out: RerankResult[] = [];
    let nextToken: string | undefined;
    do {
      let res: RerankCommandOutput;
      try {
        res = await this.client.send(new RerankCommand(nextToken ? { ...base, nextToken } : base));
      } catch (e) {
        throw bedrockError(e);
      }
      for (const r of res.results ?? [])
        if (r.index !== undefined && r.relevanceScore !== undefined)
          out.push({ index: r.index, score: r.relevanceScore });
      nextToken = res.nextToken;
    } while (nextToken);
    return out;
  }
}

/** The Bedrock reranker of a region, on the default AWS credentials (the function's role in AWS). */
export function createBedrockReranker(region: string, defaultModel?: string): BedrockReranker {
  return new BedrockReranker(new BedrockAgentRuntimeClient({ region }), { region, defaultModel });
}

/** Bedrock's errors as Keel's: throttling 429, the caller's mistakes 400/403/404, the rest 503. */
function bedrockError(e: unknown): KeelError {
  const err = e as { name?: string; message?: string; $fault?: string };
  const message = `rerank (Bedrock): ${err.name ?? "Error"}: ${err.message ?? String(e)}`;
  if (err.name === "ThrottlingException" || err.name === "ServiceQuotaExceededException")
    return new KeelError("RESOURCE_EXHAUSTED", message);
  if (err.name === "AccessDeniedException") return new KeelError("PERMISSION_DENIED", message);
  if (err.name === "ResourceNotFoundException") return new KeelError("RESOURCE_DOES_NOT_EXIST", message);
  if (err.name === "ValidationException") return new KeelError("INVALID_PARAMETER_VALUE", message);
  return new KeelError("TEMPORARILY_UNAVAILABLE", message);
}
