import { Readable } from "node:stream";
import {
  BedrockAgentRuntimeClient,
  RerankCommand,
  type RerankCommandInput,
  type RerankCommandOutput,
  ThrottlingException,
  ValidationException,
} from "@aws-sdk/client-bedrock-agent-runtime";
import { BedrockReranker, type LlmClient, withReranker } from "@keel/rag";
import { HttpResponse } from "@smithy/protocol-http";
import { describe, expect, it } from "vitest";

/** A Bedrock agent runtime client stub: records each Rerank input (the SDK's own type) and answers as the service would. */
function rerankStub(pages: RerankCommandOutput[], error?: Error) {
  const inputs: RerankCommandInput[] = [];
  const client = {
    async send(command: RerankCommand): Promise<RerankCommandOutput> {
      expect(command).toBeInstanceOf(RerankCommand);
      inputs.push(command.input);
      if (error) throw error;
      return pages[inputs.length - 1];
    },
  };
  return { client, inputs };
}

const $metadata = { httpStatusCode: 200 };

describe("Bedrock rerank provider", () => {
  it("sends the query and every candidate inline to the model's ARN, and maps the scores by position", async () => {
    const stub = rerankStub([
      {
        $metadata,
        results: [
          { index: 2, relevanceScore: 0.91 },
          { index: 0, relevanceScore: 0.4 },
        ],
        nextToken: "page-2",
      },
      { $metadata, results: [{ index: 1, relevanceScore: 0.02 }] },
    ]);
    const reranker = new BedrockReranker(stub.client, { region: "eu-west-1" });
    const scores = await reranker.rerank(undefined, "who signs large loans?", ["a", "b", "two signatures"]);
    expect(scores).toEqual([
      { index: 2, score: 0.91 },
      { index: 0, score: 0.4 },
      { index: 1, score: 0.02 },
    ]);
    const expected: RerankCommandInput = {
      queries: [{ type: "TEXT", textQuery: { text: "who signs large loans?" } }],
      sources: ["a", "b", "two signatures"].map((text) => ({
        type: "INLINE",
        inlineDocumentSource: { type: "TEXT", textDocument: { text } },
      })),
      rerankingConfiguration: {
        type: "BEDROCK_RERANKING_MODEL",
        bedrockRerankingConfiguration: {
          numberOfResults: 3,
          modelConfiguration: { modelArn: "arn:aws:bedrock:eu-west-1::foundation-model/amazon.rerank-v1:0" },
        },
      },
    };
    expect(stub.inputs[0]).toEqual(expected);
    expect(stub.inputs[1]).toEqual({ ...expected, nextToken: "page-2" });
  });

  it("takes the knowledge base's model id or a full ARN, and sends nothing for no candidates", async () => {
    const stub = rerankStub([{ $metadata, results: [] }]);
    const reranker = new BedrockReranker(stub.client, { region: "us-east-1" });
    expect(await reranker.rerank("cohere.rerank-v3-5:0", "q", [])).toEqual([]);
    expect(stub.inputs).toHaveLength(0);
    expect(reranker.modelArn("cohere.rerank-v3-5:0")).toBe(
      "arn:aws:bedrock:us-east-1::foundation-model/cohere.rerank-v3-5:0",
    );
    const arn = "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0";
    await reranker.rerank(arn, "q", ["x"]);
    expect(
      stub.inputs[0].rerankingConfiguration?.bedrockRerankingConfiguration?.modelConfiguration?.modelArn,
    ).toBe(arn);
  });

  it("turns Bedrock's errors into Keel's (throttling 429, bad input 400)", async () => {
    const throttled = new BedrockReranker(
      rerankStub([], new ThrottlingException({ message: "slow down", $metadata })).client,
      { region: "us-east-1" },
    );
    await expect(throttled.rerank(undefined, "q", ["x"])).rejects.toMatchObject({
      code: "RESOURCE_EXHAUSTED",
    });
    const invalid = new BedrockReranker(
      rerankStub([], new ValidationException({ message: "too many sources", $metadata })).client,
      { region: "us-east-1" },
    );
    await expect(invalid.rerank(undefined, "q", ["x"])).rejects.toThrow(
      /ValidationException: too many sources/,
    );
  });

  it("goes over the real SDK client's wire format (POST /rerank, JSON), with no network", async () => {
    const requests: Array<{ method: string; path: string; body: unknown }> = [];
    const client = new BedrockAgentRuntimeClient({
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      requestHandler: {
        async handle(request: { method: string; path: string; body?: Uint8Array | string }) {
          const text =
            typeof request.body === "string"
              ? request.body
              : Buffer.from(request.body ?? []).toString("utf8");
          requests.push({ method: request.method, path: request.path, body: JSON.parse(text) });
          const body = JSON.stringify({ results: [{ index: 0, relevanceScore: 0.7 }] });
          return {
            response: new HttpResponse({
              statusCode: 200,
              headers: { "content-type": "application/json" },
              body: Readable.from([Buffer.from(body)]),
            }),
          };
        },
      },
    });
    const reranker = new BedrockReranker(client, { region: "us-east-1" });
    expect(await reranker.rerank(undefined, "q", ["only text"])).toEqual([{ index: 0, score: 0.7 }]);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: "POST", path: "/rerank" });
    expect(requests[0].body).toMatchObject({
      queries: [{ type: "TEXT", textQuery: { text: "q" } }],
      sources: [
        { type: "INLINE", inlineDocumentSource: { type: "TEXT", textDocument: { text: "only text" } } },
      ],
    });
  });

  it("answers a knowledge base's rerank behind the existing provider port", async () => {
    const stub = rerankStub([{ $metadata, results: [{ index: 1, relevanceScore: 0.8 }] }]);
    const base: LlmClient = {
      embed: async (_m, texts) => texts.map(() => [1, 0]),
      chat: async () => ({ content: "hi" }),
      chatStream: async function* () {},
      rerank: async () => {
        throw new Error("the HTTP reranker must not be called");
      },
    };
    const llm = withReranker(base, new BedrockReranker(stub.client, { region: "us-east-1" }));
    expect(await llm.rerank("amazon.rerank-v1:0", "q", ["a", "b"])).toEqual([{ index: 1, score: 0.8 }]);
    expect(await llm.embed("m", ["x"])).toEqual([[1, 0]]);
  });
});
