import { join } from "node:path";
import { listFolder, readFolderDocument } from "@keel/rag";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";
import { extractiveReply } from "./extractive-reply";

/**
 * Knowledge bases through the LLM gateway as `rag:<kb>`, with the official `openai` client: a
 * virtual key retrieves as its team, so the board's document is cited for a board key and never
 * reaches (not even in the prompt) an answer for another team's key.
 */
const corpus = join(import.meta.dirname, "corpus");
const secret = "What is the merger codename Falcon offer price per share for Northwind?";
let fake: FakeOpenAI;
let p: Awaited<ReturnType<typeof startTestPlatform>>;

async function keyFor(team: string): Promise<string> {
  const res = await p.call("POST", "/api/v1/llm/keys", { name: `${team}-app`, team });
  expect(res.status, res.text).toBe(201);
  return res.json.key as string;
}
const client = (apiKey: string) => new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey, maxRetries: 0 });

beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: extractiveReply, dims: 256 });
  p = await startTestPlatform({ config: { rag: { llmUrl: fake.baseURL } } });
  const kb = await p.call("POST", "/api/v1/rag/knowledge-bases", {
    name: "handbook",
    embedding: { model: "fake-embed" },
    generation: { model: "fake-chat" },
    ownerTeam: "risk",
    teams: { board: ["carol"] },
    chunking: { maxTokens: 96, overlapTokens: 16 },
  });
  expect(kb.status, kb.text).toBe(201);
  const files = await listFolder(corpus);
  const documents = await Promise.all(files.map((f) => readFolderDocument(corpus, f)));
  expect((await p.call("POST", "/api/v1/rag/handbook/documents", { documents })).status).toBe(200);
});
afterAll(async () => {
  await p?.close();
  await fake?.close();
});

describe("rag:<kb> on the gateway", () => {
  it("is listed as a model", async () => {
    const models = await client(await keyFor("board")).models.list();
    expect(models.data.map((m) => m.id)).toContain("rag:handbook");
  });

  it("answers a team's key from its team's documents, with citations", async () => {
    const c = client(await keyFor("board"));
    const out = await c.chat.completions.create({
      model: "rag:handbook",
      messages: [{ role: "user", content: secret }],
    });
    expect(out.choices[0].message.content).toContain("42 euros");
    expect(out.choices[0].message.content).toContain("board/merger.md");
    let streamed = "";
    const stream = await c.chat.completions.create({
      model: "rag:handbook",
      messages: [{ role: "user", content: secret }],
      stream: true,
    });
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? "";
    expect(streamed).toContain("42 euros");
  });

  it("never shows another team's key the board's document, streamed or not", async () => {
    const c = client(await keyFor("sales"));
    const before = fake.requests.length;
    const out = await c.chat.completions.create({
      model: "rag:handbook",
      messages: [{ role: "user", content: secret }],
    });
    expect(JSON.stringify(out)).not.toMatch(/merger\.md|42 euros|Northwind/);
    let streamed = "";
    const stream = await c.chat.completions.create({
      model: "rag:handbook",
      messages: [{ role: "user", content: secret }],
      stream: true,
    });
    for await (const chunk of stream) streamed += JSON.stringify(chunk);
    expect(streamed).not.toMatch(/merger\.md|42 euros|Northwind/);
    const prompts = fake.requests.slice(before).map((r) => JSON.stringify(r.body));
    expect(prompts.some((t) => t.includes("42 euros"))).toBe(false);
  });

  it("answers 404 model_not_found for an unknown knowledge base", async () => {
    const err = await client(await keyFor("board"))
      .chat.completions.create({ model: "rag:nope", messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(404);
  });
});
