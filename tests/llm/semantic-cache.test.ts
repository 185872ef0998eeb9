import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

/**
 * The semantic cache through the official `openai` client: a similar question is answered from
 * the cache (the upstream is not called), marked `x-keel-cache: semantic` and in usage; a
 * dissimilar one, another team, another system prompt, an expired entry or redacted input miss.
 * The fake upstream's embeddings are hashed bags of words, so shared words mean similar vectors.
 */
type Platform = Awaited<ReturnType<typeof startTestPlatform>>;
let p: Platform;
let up: FakeOpenAI;
let baseURL: string;
const keys: Record<string, string> = {};

const lastText = (b: { messages: { content: unknown }[] }) => String(b.messages.at(-1)?.content ?? "");
const chatCalls = () => up.requests.filter((r) => r.path.endsWith("/chat/completions")).length;
const flush = () => p.platform.services.llm.semantic?.flush();

async function put(path: string, body: unknown, status = 200) {
  const res = await p.call(path === "keys" ? "POST" : "PUT", `/api/v1/llm/${path}`, body);
  expect(res.status, res.text).toBe(status);
  return res.json;
}

const route = (semanticCache: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  deployments: [{ id: "main", provider: "openai", model: "fake-chat", baseURL: up.baseURL }],
  semanticCache: { embeddingModel: "embed", threshold: 0.9, ...semanticCache },
  ...extra,
});

async function ask(team: string, model: string, question: string, system?: string) {
  const client = new OpenAI({ baseURL, apiKey: keys[team], maxRetries: 0 });
  const messages = [
    ...(system ? [{ role: "system" as const, content: system }] : []),
    { role: "user" as const, content: question },
  ];
  const { data, response } = await client.chat.completions.create({ model, messages }).withResponse();
  return {
    text: data.choices[0].message.content,
    cache: response.headers.get("x-keel-cache"),
    similarity: response.headers.get("x-keel-cache-similarity"),
    requestId: response.headers.get("x-keel-request-id"),
  };
}

beforeAll(async () => {
  up = await startFakeOpenAI({ reply: (b) => `answer to: ${lastText(b)}` });
  p = await startTestPlatform({ config: { http: { maxInFlight: 0 } } });
  baseURL = `${p.url}/llm/v1`;
  await put("routes/embed", {
    deployments: [{ id: "e", provider: "openai", model: "fake-embed", baseURL: up.baseURL }],
  });
  await put("routes/chat", route({ ttlSeconds: 600 }));
  await put("routes/chat-short", route({ ttlSeconds: 1 }));
  await put("routes/chat-shared", route({ ttlSeconds: 600, shared: true }));
  await put("routes/chat-small", route({ ttlSeconds: 600, maxEntries: 2 }));
  await put(
    "routes/chat-pii",
    route({ ttlSeconds: 600 }, { guardrails: { input: "redact", output: "off" } }),
  );
  for (const team of ["a", "b"])
    keys[team] = (
      await put(
        "keys",
        { name: team, team, models: ["chat", "chat-short", "chat-shared", "chat-pii", "chat-small"] },
        201,
      )
    ).key;
});

afterAll(async () => {
  await p?.close();
  await up?.close();
});

describe("semantic cache", () => {
  it("answers a similar question from the cache, marked in headers, usage and metrics", async () => {
    const first = await ask("a", "chat", "What is the capital city of France?");
    expect(first.cache).toBe("miss");
    await flush();
    const before = chatCalls();
    const similar = await ask("a", "chat", "what is the capital of France");
    expect(similar.cache).toBe("semantic");
    expect(similar.text).toBe(first.text);
    expect(Number(similar.similarity)).toBeGreaterThanOrEqual(0.9);
    expect(Number(similar.similarity)).toBeLessThan(1);
    expect(chatCalls()).toBe(before);

    // Streamed: replayed as server-sent events.
    const client = new OpenAI({ baseURL, apiKey: keys.a, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "What is the capital of France?" }],
      stream: true,
    });
    let streamed = "";
    for await (const c of stream) streamed += c.choices[0]?.delta?.content ?? "";
    expect(streamed).toBe(first.text);
    expect(chatCalls()).toBe(before);

    const usage = await p.call("GET", "/api/v1/llm/usage?team=a&limit=50");
    const rec = usage.json.usage.find((u: { id: string }) => similar.requestId?.endsWith(`-${u.id}`));
    expect(rec).toMatchObject({ model: "chat", cacheHit: true, cacheKind: "semantic", cost: 0 });
    // The conversation was embedded through the gateway as team a (its budget and limits).
    expect(usage.json.usage.some((u: { model: string }) => u.model === "embed")).toBe(true);
    const metrics = await p.call("GET", "/metrics");
    expect(metrics.text).toMatch(/llm_semantic_cache_lookups_total\{model="chat",outcome="hit"\} [2-9]/);
  });

  it("keeps a streamed answer once the stream completed", async () => {
    const client = new OpenAI({ baseURL, apiKey: keys.a, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Why is the sky blue on a clear day?" }],
      stream: true,
    });
    let streamed = "";
    for await (const c of stream) streamed += c.choices[0]?.delta?.content ?? "";
    expect(streamed).toBe("answer to: Why is the sky blue on a clear day?");
    await flush();
    const n = chatCalls();
    const again = await ask("a", "chat", "why is the sky blue on a clear day");
    expect(again).toMatchObject({ cache: "semantic", text: streamed });
    expect(chatCalls()).toBe(n);
  });

  it("misses a dissimilar question, another team and another system prompt", async () => {
    let n = chatCalls();
    const other = await ask("a", "chat", "How do I bake sourdough bread at home?");
    expect(other.cache).toBe("miss");
    expect(other.text).toBe("answer to: How do I bake sourdough bread at home?");
    expect(chatCalls()).toBe(++n);

    const teamB = await ask("b", "chat", "what is the capital of France");
    expect(teamB.cache).toBe("miss");
    expect(teamB.text).toBe("answer to: what is the capital of France");
    expect(chatCalls()).toBe(++n);

    const system = await ask("a", "chat", "what is the capital of France", "Answer in Korean.");
    expect(system.cache).toBe("miss");
    expect(chatCalls()).toBe(++n);
  });

  it("serves another team only on a route that shares answers", async () => {
    const first = await ask("a", "chat-shared", "Which river flows through Paris?");
    expect(first.cache).toBe("miss");
    await flush();
    const b = await ask("b", "chat-shared", "which river flows through paris");
    expect(b.cache).toBe("semantic");
    expect(b.text).toBe(first.text);
  });

  it("misses an expired entry", async () => {
    const first = await ask("a", "chat-short", "What is the tallest mountain in Korea?");
    expect(first.cache).toBe("miss");
    await flush();
    expect((await ask("a", "chat-short", "what is the tallest mountain in Korea")).cache).toBe("semantic");
    await new Promise((r) => setTimeout(r, 1100));
    const n = chatCalls();
    const late = await ask("a", "chat-short", "what is the tallest mountain in Korea");
    expect(late.cache).toBe("miss");
    expect(chatCalls()).toBe(n + 1);
  });

  it("keeps at most maxEntries entries per route, evicting the oldest", async () => {
    for (const q of [
      "Who painted the Mona Lisa?",
      "How many legs does a spider have?",
      "What is the boiling point of water?",
    ]) {
      expect((await ask("a", "chat-small", q)).cache).toBe("miss");
      await flush();
    }
    expect((await ask("a", "chat-small", "what is the boiling point of water")).cache).toBe("semantic");
    expect((await ask("a", "chat-small", "how many legs does a spider have")).cache).toBe("semantic");
    expect((await ask("a", "chat-small", "who painted the mona lisa")).cache).toBe("miss");
  });

  it("never caches an answer to input the guardrails redacted", async () => {
    const q = "My card is 4111 1111 1111 1111, what is my limit?";
    // `bypass`: the route has a semantic cache, this request may not use it.
    expect((await ask("a", "chat-pii", q)).cache).toBe("bypass");
    await flush();
    const n = chatCalls();
    expect((await ask("a", "chat-pii", q)).cache).toBe("bypass");
    expect(chatCalls()).toBe(n + 1);
    // The embedding upstream never saw the card number either.
    expect(up.requests.some((r) => JSON.stringify(r.body).includes("4111 1111"))).toBe(false);
  });
});
