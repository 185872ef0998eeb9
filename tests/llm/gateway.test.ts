import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

/**
 * The gateway as a new user meets it, through the official `openai` client unchanged: no
 * upstream yet, then a route, a team key with a budget, chat with and without streaming, a
 * card number redacted, the rate limit, a failing primary and its fallback, usage and cost.
 */
type Platform = Awaited<ReturnType<typeof startTestPlatform>>;
let p: Platform;
let good: FakeOpenAI;
let bad: FakeOpenAI;
let baseURL: string;

const CARD = "4111 1111 1111 1111";
const reply = (body: { messages: { content: unknown }[] }) => {
  const last = String(body.messages[body.messages.length - 1]?.content ?? "");
  if (last.includes("card")) return `Your card is ${CARD}, noted.`;
  return "Hello from the fake model.";
};

async function putRoute(model: string, route: Record<string, unknown>) {
  const res = await p.call("PUT", `/api/v1/llm/routes/${encodeURIComponent(model)}`, route);
  expect(res.status, res.text).toBe(200);
  return res.json;
}

async function newKey(body: Record<string, unknown>): Promise<string> {
  const res = await p.call("POST", "/api/v1/llm/keys", body);
  expect(res.status, res.text).toBe(201);
  expect(res.json.key).toMatch(/^sk-keel-/);
  return res.json.key as string;
}

const client = (apiKey: string) => new OpenAI({ baseURL, apiKey, maxRetries: 0 });

beforeAll(async () => {
  good = await startFakeOpenAI({ reply, chunkSize: 3 });
  bad = await startFakeOpenAI({ reply });
  p = await startTestPlatform({ config: { http: { maxInFlight: 0 } } });
  baseURL = `${p.url}/llm/v1`;
});

afterAll(async () => {
  await p?.close();
  await good?.close();
  await bad?.close();
});

describe("LLM gateway through the openai client", () => {
  it("lists no models before an upstream is added and says how to add one", async () => {
    const c = client("sk-keel-unused");
    const models = await p.call("GET", "/llm/v1/models");
    expect(models.status).toBe(200);
    expect(models.json).toEqual({ object: "list", data: [] });
    const res = await p.call("POST", "/llm/v1/chat/completions", {
      model: "llama3",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("model_not_found");
    expect(res.json.error.type).toBe("invalid_request_error");
    expect(res.json.error.message).toContain("keel llm route add llama3");
    await expect(c.chat.completions.create({ model: "llama3", messages: [] })).rejects.toMatchObject({
      status: 401,
    });
  });

  it("chats with and without streaming, with usage, through a team key", async () => {
    await putRoute("chat", {
      deployments: [
        {
          id: "primary",
          provider: "openai",
          model: "fake-chat",
          baseURL: good.baseURL,
          price: { input: 1, output: 2 },
        },
      ],
    });
    const key = await newKey({ name: "app", team: "payments" });
    const c = client(key);
    const models = await c.models.list();
    expect(models.data.map((m) => m.id)).toContain("chat");

    const res = await c.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Say hello" }],
    });
    expect(res.choices[0].message.content).toBe("Hello from the fake model.");
    expect(res.model).toBe("chat");
    expect(res.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 });
    expect(good.requests.at(-1)?.body.model).toBe("fake-chat");

    const stream = await c.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Say hello again" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Hello from the fake model.");
    expect(chunks).toBeGreaterThan(5);
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 5 });

    // Without include_usage no usage chunk reaches the client (the gateway still counts it).
    const plain = await c.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    for await (const chunk of plain) expect(chunk.usage ?? undefined).toBeUndefined();
  });

  it("redacts a card number in the answer, also when the stream splits it, and in the prompt", async () => {
    await putRoute("guarded", {
      deployments: [{ id: "d", provider: "openai", model: "fake-chat", baseURL: good.baseURL }],
      guardrails: { input: "redact", output: "redact" },
    });
    const c = client(await newKey({ name: "guard", team: "payments" }));
    const res = await c.chat.completions.create({
      model: "guarded",
      messages: [{ role: "user", content: "my card please" }],
    });
    expect(res.choices[0].message.content).toBe("Your card is [REDACTED:card], noted.");

    const stream = await c.chat.completions.create({
      model: "guarded",
      messages: [{ role: "user", content: "card again" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("Your card is [REDACTED:card], noted.");
    expect(text).not.toContain("1111");

    await c.chat.completions.create({
      model: "guarded",
      messages: [{ role: "user", content: "mail kim@example.com or call 010-1234-5678, RRN 900101-1234567" }],
    });
    const sent = good.requests.at(-1)?.body.messages as { content: string }[];
    expect(sent[0].content).toBe("mail [REDACTED:email] or call [REDACTED:phone], RRN [REDACTED:rrn]");

    const usage = await p.call("GET", "/api/v1/llm/usage?team=payments&limit=1");
    expect(usage.json.usage[0].redactions).toEqual({ email: 1, phone: 1, rrn: 1 });
  });

  it("answers 429 with Retry-After and x-ratelimit headers past a key's requests per minute", async () => {
    const c = client(await newKey({ name: "limited", team: "ops", limits: { rpm: 2 } }));
    const ok = await c.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "1" }] })
      .withResponse();
    expect(ok.response.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(ok.response.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    await c.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "2" }] });
    const err = await c.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "3" }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    expect(err.code).toBe("rate_limit_exceeded");
    expect(Number(err.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(err.headers.get("x-ratelimit-remaining-requests")).toBe("0");
  });

  it("falls back to the next deployment when the primary fails", async () => {
    bad.fail = 500;
    await putRoute("fb", {
      deployments: [
        { id: "primary", provider: "openai", model: "fake-chat", baseURL: bad.baseURL, weight: 1 },
        { id: "backup", provider: "openai", model: "fake-chat", baseURL: good.baseURL, weight: 0 },
      ],
      retries: 1,
    });
    const c = client(await newKey({ name: "fb", team: "ops" }));
    const before = bad.requests.length;
    const res = await c.chat.completions
      .create({ model: "fb", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(res.data.choices[0].message.content).toBe("Hello from the fake model.");
    expect(res.response.headers.get("x-keel-deployment")).toBe("backup");
    expect(bad.requests.length - before).toBe(2); // one try and one retry on the primary

    // A fallback route too: every deployment of `down` fails, so `chat` answers.
    await putRoute("down", {
      deployments: [{ id: "only", provider: "openai", model: "fake-chat", baseURL: bad.baseURL }],
      retries: 0,
      fallbacks: ["chat"],
    });
    const viaFallback = await c.chat.completions.create({
      model: "down",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(viaFallback.choices[0].message.content).toBe("Hello from the fake model.");

    // With no fallback left the caller gets a 5xx in OpenAI's shape.
    await putRoute("dead", {
      deployments: [{ id: "only", provider: "openai", model: "m", baseURL: bad.baseURL }],
      retries: 0,
    });
    const dead = await c.chat.completions
      .create({ model: "dead", messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e);
    expect(dead.status).toBe(502);
    expect(dead.error?.type ?? dead.type).toBe("server_error");

    const metrics = await p.call("GET", "/metrics");
    expect(metrics.text).toMatch(/llm_fallbacks_total\{model="fb"\} [1-9]/);
    expect(metrics.text).toMatch(/llm_tokens_total\{direction="input",model="chat",team="payments"\} \d+/);
    bad.fail = undefined;
  });

  it("reports the team's usage and cost", async () => {
    await putRoute("priced", {
      deployments: [
        {
          id: "d",
          provider: "openai",
          model: "fake-chat",
          baseURL: good.baseURL,
          price: { input: 10, output: 20 },
        },
      ],
    });
    const c = client(await newKey({ name: "cost", team: "risk" }));
    await c.chat.completions.create({
      model: "priced",
      messages: [{ role: "user", content: "one two three" }],
    });
    await c.chat.completions.create({ model: "priced", messages: [{ role: "user", content: "four" }] });
    const res = await p.call("GET", "/api/v1/llm/usage/summary?team=risk");
    expect(res.status).toBe(200);
    expect(res.json.summary).toHaveLength(1);
    const row = res.json.summary[0];
    expect(row).toMatchObject({ team: "risk", model: "priced", requests: 2, tokensIn: 4, tokensOut: 10 });
    expect(row.cost).toBeCloseTo((4 * 10 + 10 * 20) / 1000, 8);
    const log = await p.call("GET", "/api/v1/llm/usage?team=risk");
    expect(log.json.usage).toHaveLength(2);
    expect(log.json.usage[0]).toMatchObject({
      model: "priced",
      deployment: "d",
      cacheHit: false,
      tokenSource: "usage",
    });
    expect(log.json.usage[0].key).toMatch(/^key-/);
  });

  it("refuses a revoked key with 401", async () => {
    const key = await newKey({ name: "temp", team: "ops" });
    const c = client(key);
    await c.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "hi" }] });
    const keys = await p.call("GET", "/api/v1/llm/keys?team=ops");
    const rec = keys.json.keys.find((k: { name: string }) => k.name === "temp");
    expect(JSON.stringify(keys.json)).not.toContain(key);
    const revoked = await p.call("POST", `/api/v1/llm/keys/${rec.id}/revoke`);
    expect(revoked.status).toBe(200);
    const err = await c.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe("invalid_api_key");
    const audit = await p.call("GET", `/api/v1/audit?resource=${encodeURIComponent(`llm-key:${rec.id}`)}`);
    expect(audit.json.events.map((e: { action: string }) => e.action)).toEqual([
      "llm.key.create",
      "llm.key.revoke",
    ]);
  });

  it("stops a team at its budget (hard stop) and raises the alert once", async () => {
    await putRoute("pricey", {
      deployments: [
        {
          id: "d",
          provider: "openai",
          model: "fake-chat",
          baseURL: good.baseURL,
          price: { input: 100, output: 100 },
        },
      ],
    });
    const team = await p.call("PUT", "/api/v1/llm/teams/fraud", {
      budget: { amount: 0.5, period: "month", alerts: [0.8] },
    });
    expect(team.status, team.text).toBe(200);
    const c = client(await newKey({ name: "b", team: "fraud" }));
    await c.chat.completions.create({ model: "pricey", messages: [{ role: "user", content: "hi" }] }); // (1+5)*0.1 = 0.6 USD
    const err = await c.chat.completions
      .create({ model: "pricey", messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e);
    expect(err.status).toBe(429);
    expect(err.code).toBe("budget_exceeded");
    const teams = await p.call("GET", "/api/v1/llm/teams");
    expect(teams.json.teams.find((t: { team: string }) => t.team === "fraud").spent).toBeCloseTo(0.6, 6);
    const alerts = await p.call("GET", "/api/v1/audit?action=llm.budget.alert");
    expect(alerts.json.events).toHaveLength(1);
    expect(alerts.json.events[0].state).toMatchObject({ team: "fraud", threshold: 0.8 });
  });

  it("admits exactly the limit under 64 concurrent callers", async () => {
    const c = client(await newKey({ name: "burst", team: "burst", limits: { rpm: 10 } }));
    const results = await Promise.allSettled(
      Array.from({ length: 64 }, (_, i) =>
        c.chat.completions.create({ model: "chat", messages: [{ role: "user", content: `n${i}` }] }),
      ),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const limited = results.filter(
      (r) => r.status === "rejected" && (r.reason as { status?: number }).status === 429,
    );
    expect(ok).toBe(10);
    expect(limited).toHaveLength(54);
  });

  it("serves embeddings and marks exact cache hits", async () => {
    await putRoute("embed", {
      deployments: [{ id: "d", provider: "openai", model: "fake-embed", baseURL: good.baseURL }],
    });
    const c = client(await newKey({ name: "e", team: "search" }));
    const e = await c.embeddings.create({ model: "embed", input: ["hello world", "bye"] });
    expect(e.data).toHaveLength(2);
    expect(e.data[0].embedding).toHaveLength(64);

    await putRoute("cached", {
      deployments: [{ id: "d", provider: "openai", model: "fake-chat", baseURL: good.baseURL }],
      cache: { ttlSeconds: 60 },
    });
    const first = await c.chat.completions
      .create({ model: "cached", messages: [{ role: "user", content: "same" }] })
      .withResponse();
    expect(first.response.headers.get("x-keel-cache")).toBe("miss");
    const n = good.requests.length;
    const second = await c.chat.completions
      .create({ model: "cached", messages: [{ role: "user", content: " same " }] })
      .withResponse();
    expect(second.response.headers.get("x-keel-cache")).toBe("hit");
    expect(second.data.choices[0].message.content).toBe(first.data.choices[0].message.content);
    expect(good.requests.length).toBe(n);
    const usage = await p.call("GET", "/api/v1/llm/usage?team=search&limit=1");
    expect(usage.json.usage[0]).toMatchObject({ cacheHit: true, cost: 0 });
  });
});
