import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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

/**
 * Pipeline steps have no caller: `rag.ingest` in the step Lambda reads a gateway key from the
 * Secrets Manager secret KEEL_RAG_LLM_API_KEY_SECRET names. A small server speaking Secrets
 * Manager's JSON protocol stands in for AWS (the SDK finds it through AWS_ENDPOINT_URL_SECRETS_MANAGER).
 */
describe("RAG's model client with KEEL_RAG_LLM_API_KEY_SECRET", () => {
  const secrets = new Map<string, string>();
  const asked: Array<{ target: string; body: { SecretId?: string } }> = [];
  let server: Server;
  const saved = { ...process.env };
  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = "";
      req.on("data", (c) => {
        text += c;
      });
      req.on("end", () => {
        const body = JSON.parse(text) as { SecretId?: string };
        asked.push({ target: String(req.headers["x-amz-target"]), body });
        const value = secrets.get(body.SecretId ?? "");
        res.setHeader("content-type", "application/x-amz-json-1.1");
        if (value === undefined) {
          res.statusCode = 400;
          res.end(JSON.stringify({ __type: "ResourceNotFoundException", message: "no such secret" }));
        } else res.end(JSON.stringify({ Name: body.SecretId, SecretString: value }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
  });
  afterAll(() => {
    process.env = saved;
    server?.close();
  });
  const clientFor = (secret: string) =>
    createRagLlmClient(
      loadConfig({ [ENV.RAG_LLM_URL]: fake.baseURL, [ENV.RAG_LLM_API_KEY_SECRET]: secret }),
      noSelf,
    );

  it("sends the secret's key (plain or JSON apiKey), read once, never the caller's token", async () => {
    secrets.set("keel/ingest-plain", "sk-plain-key\n");
    secrets.set("keel/ingest-json", JSON.stringify({ apiKey: "sk-json-key" }));
    const plain = clientFor("keel/ingest-plain");
    await withCallerAuthorization("Bearer caller-jwt", () => plain.embed("emb", ["hello"]));
    expect(lastAuthorization()).toBe("Bearer sk-plain-key");
    await plain.embed("emb", ["again"]);
    expect(asked.filter((a) => a.body.SecretId === "keel/ingest-plain")).toHaveLength(1);
    expect(asked[0].target).toBe("secretsmanager.GetSecretValue");
    await clientFor("keel/ingest-json").embed("emb", ["hello"]);
    expect(lastAuthorization()).toBe("Bearer sk-json-key");
  });

  it("says which secret it could not read, sends nothing, and reads again on the next call", async () => {
    const before = fake.requests.length;
    const llm = clientFor("keel/ingest-later");
    await expect(llm.embed("emb", ["hello"])).rejects.toThrow(/keel\/ingest-later/);
    expect(fake.requests.length).toBe(before);
    secrets.set("keel/ingest-later", "sk-later");
    await llm.embed("emb", ["hello"]);
    expect(lastAuthorization()).toBe("Bearer sk-later");
  });

  it("refuses an empty secret or JSON without an apiKey, naming the fix", async () => {
    secrets.set("keel/ingest-empty", JSON.stringify({ key: "x" }));
    await expect(clientFor("keel/ingest-empty").embed("emb", ["hello"])).rejects.toThrow(/"apiKey" field/);
  });
});
