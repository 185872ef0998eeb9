import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import {
  awsBuiltinSteps,
  createMetadataStore,
  createPipelineStepHandler,
  createRagVectorStore,
} from "@keel/app";
import { S3ArtifactStore } from "@keel/artifacts";
import { ENV, loadConfig, ROLES, systemClock, withContext } from "@keel/core";
import { definePipeline } from "@keel/pipelines";
import { RagService } from "@keel/rag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { freshMetadataStore } from "../helpers/metadata";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { type FakeS3, startFakeS3 } from "../helpers/s3-server";
import { minimalPdf } from "./pdf-fixture";

/**
 * The `rag.ingest` built-in step as the Step Functions step Lambda runs it
 * (`functions/pipeline-step.ts` -> createPipelineStepHandler): documents from an S3 prefix (the
 * local S3 stand-in), knowledge base records in DynamoDB (dynalite), LanceDB at `rag.root`.
 */
const pipeline = definePipeline({
  name: "refresh-handbook",
  params: z.object({}),
  steps: [
    {
      name: "ingest",
      kind: "builtin",
      uses: "rag.ingest",
      with: { kb: "handbook", artifactPrefix: "docs/handbook" },
    },
  ],
});

let meta: Awaited<ReturnType<typeof freshMetadataStore>>;
let s3: FakeS3;
let fake: FakeOpenAI;
let artifacts: S3ArtifactStore;
const ragRoot = mkdtempSync(join(tmpdir(), "keel-rag-lambda-"));
let config: ReturnType<typeof loadConfig>;
const asLambda = <T>(fn: () => Promise<T>) =>
  withContext({ principal: "aws:states", requestId: "pipeline-step", roles: ROLES, kind: "service" }, fn);

beforeAll(async () => {
  meta = await freshMetadataStore();
  s3 = await startFakeS3();
  fake = await startFakeOpenAI({ dims: 16 });
  artifacts = new S3ArtifactStore({
    root: "s3://stage-bucket/artifacts",
    endpoint: s3.endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  await artifacts.client.send(new CreateBucketCommand({ Bucket: "stage-bucket" }));
  await artifacts.put("docs/handbook/policy.md", Buffer.from("# Policy\n\nLarge loans need two signatures."));
  await artifacts.put(
    "docs/handbook/manual.pdf",
    minimalPdf([["Cover"], ["Vaults are opened by two tellers together."]], "Operations Manual"),
  );
  await artifacts.put("docs/handbook/broken.pdf", Buffer.from("%PDF-1.5\nno objects here"));
  config = loadConfig({
    [ENV.TABLE]: meta.store.table,
    [ENV.DYNAMODB_ENDPOINT]: meta.endpoint,
    [ENV.REGION]: "us-east-1",
    [ENV.ARTIFACT_ROOT]: "s3://stage-bucket/artifacts",
    [ENV.RAG_ROOT]: ragRoot,
    [ENV.RAG_LLM_URL]: fake.baseURL,
  });
  const rag = new RagService({
    store: createMetadataStore(config),
    vectors: createRagVectorStore(config),
    llm: {
      embed: async () => [],
      chat: async () => ({ content: "" }),
      chatStream: async function* () {},
      rerank: async () => [],
    },
    clock: systemClock,
  });
  await asLambda(() =>
    rag.create({ name: "handbook", ownerTeam: "ops", embedding: { model: "fake-embed" } } as never),
  );
});
afterAll(async () => {
  await meta?.close();
  await s3?.close();
  await fake?.close();
  rmSync(ragRoot, { recursive: true, force: true });
});

describe("rag.ingest in the pipeline-step Lambda", () => {
  it("is a built-in step kind of the deployed platform", () => {
    expect(
      awsBuiltinSteps()
        .list()
        .map((k) => k.name),
    ).toContain("rag.ingest");
  });

  it("ingests an S3 prefix into LanceDB at rag.root, reporting an unreadable file", async () => {
    const handler = createPipelineStepHandler(config, [pipeline], { artifacts });
    const state = (await asLambda(() =>
      handler({ action: "validate", pipeline: pipeline.name, input: { params: {} }, executionName: "run-1" }),
    )) as { keel: unknown };
    const out = await asLambda(() =>
      handler({ action: "step", pipeline: pipeline.name, step: "ingest", keel: state.keel, inputs: {} }),
    );
    expect(out).toMatchObject({ kb: "handbook", documents: 2, added: 2, deleted: 0 });
    expect((out as { failed: Array<{ uri: string }> }).failed.map((f) => f.uri)).toEqual([
      "docs/handbook/broken.pdf",
    ]);

    // What the step wrote is what the API (another process) reads: same table, same LanceDB root.
    const reader = new RagService({
      store: createMetadataStore(config),
      vectors: createRagVectorStore(config),
      llm: {
        embed: async () => [],
        chat: async () => ({ content: "" }),
        chatStream: async function* () {},
        rerank: async () => [],
      },
      clock: systemClock,
    });
    const docs = await asLambda(() => reader.listDocuments("handbook"));
    expect(docs.map((d) => d.uri).sort()).toEqual(["docs/handbook/manual.pdf", "docs/handbook/policy.md"]);
    const hits = await asLambda(() =>
      reader.retrieve("handbook", { query: "tellers vaults", mode: "text", k: 2 }),
    );
    expect(hits.chunks[0]).toMatchObject({ source: "docs/handbook/manual.pdf", heading: "Page 2" });
  });
});
