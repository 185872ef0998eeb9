import { ENV, loadConfig } from "@keel/core";
import { withCallerAuthorization } from "@keel/rag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRagLlmClient } from "../../packages/app/src/adapters";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";

/**
 * In AWS the stacks point KEEL_RAG_LLM_URL at the stage's gateway (stacks/Api.ts): RAG's calls
 * must still be the caller's, as they are in process, unless an API key is configured.
 */
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());

const noSelf = () => ({
  request: () => Promise.reject(new Error("the self gateway must not be called when a URL is set")),
});
const lastAuthorization = () => fake.requests.at(-1)?.headers.authorization;

describe("RAG's model client with KEEL_RAG_LLM_URL", () => {
  it("forwards the caller's own Authorization when no API key is set", async () => {
    const llm = createRagLlmClient(loadConfig({ [ENV.RAG_LLM_URL]: fake.baseURL }), noSelf);
    const vectors = await withCallerAuthorization("Bearer caller-jwt", () => llm.embed("emb", ["hello"]));
    expect(vectors).toHaveLength(1);
    expect(lastAuthorization()).toBe("Bearer caller-jwt");
  });

  it("sends no Authorization outside a caller's request (no key, no caller)", async () => {
    const llm = createRagLlmClient(loadConfig({ [ENV.RAG_LLM_URL]: fake.baseURL }), noSelf);
    await llm.embed("emb", ["hello"]);
    expect(lastAuthorization()).toBeUndefined();
  });

  it("sends the configured API key, never the caller's token, when one is set", async () => {
    const llm = createRagLlmClient(
      loadConfig({ [ENV.RAG_LLM_URL]: fake.baseURL, [ENV.RAG_LLM_API_KEY]: "sk-keel-ingest" }),
      noSelf,
    );
    await withCallerAuthorization("Bearer caller-jwt", () => llm.embed("emb", ["hello"]));
    expect(lastAuthorization()).toBe("Bearer sk-keel-ingest");
  });
});
