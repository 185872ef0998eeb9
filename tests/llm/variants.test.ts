import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keel } from "../cli/keel";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

/**
 * Per-variant quality of a weighted (A/B) route: each answer names the deployment that served it
 * and its request id; the team that made a request rates it; the summary per route and
 * deployment counts requests, tokens, cost, latency, errors and the mean feedback score.
 */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let up: FakeOpenAI;
const keys: Record<string, string> = {};

const feedback = (team: string, body: Record<string, unknown>) =>
  p.call("POST", "/api/v1/llm/feedback", body, { authorization: `Bearer ${keys[team]}` });

beforeAll(async () => {
  up = await startFakeOpenAI({ models: ["base-m", "lora-m"], reply: (b) => `from ${b.model}` });
  p = await startTestPlatform({ config: { http: { maxInFlight: 0 } } });
  const route = await p.call("PUT", "/api/v1/llm/routes/ab", {
    deployments: [
      {
        id: "base",
        provider: "openai",
        model: "base-m",
        baseURL: up.baseURL,
        weight: 1,
        price: { input: 1, output: 2 },
      },
      {
        id: "lora",
        provider: "openai",
        model: "lora-m",
        baseURL: up.baseURL,
        weight: 1,
        price: { input: 3, output: 4 },
      },
    ],
  });
  expect(route.status, route.text).toBe(200);
  for (const team of ["x", "y"]) {
    const k = await p.call("POST", "/api/v1/llm/keys", { name: team, team });
    expect(k.status, k.text).toBe(201);
    keys[team] = k.json.key;
  }
});
afterAll(async () => {
  await p?.close();
  await up?.close();
});

describe("A/B variants", () => {
  it("names the variant, takes feedback from the requesting team and summarises per variant", async () => {
    const client = new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey: keys.x, maxRetries: 0 });
    const served: Array<{ id: string; deployment: string; text: string }> = [];
    for (let i = 0; i < 30; i++) {
      const { data, response } = await client.chat.completions
        .create({ model: "ab", messages: [{ role: "user", content: `question number ${i}` }] })
        .withResponse();
      served.push({
        id: String(response.headers.get("x-keel-request-id")),
        deployment: String(response.headers.get("x-keel-deployment")),
        text: String(data.choices[0].message.content),
      });
    }
    const of = (d: string) => served.filter((s) => s.deployment === d);
    expect(of("base").length).toBeGreaterThan(0);
    expect(of("lora").length).toBeGreaterThan(0);
    expect(of("base").length + of("lora").length).toBe(30);
    expect(of("lora").every((s) => s.text === "from lora-m")).toBe(true);

    // Thumbs up for every base answer, 0.25 for every lora answer (one of them rated twice: the last counts).
    for (const s of of("base"))
      expect((await feedback("x", { request_id: s.id, score: "up" })).status).toBe(201);
    for (const s of of("lora")) {
      const res = await feedback("x", { request_id: s.id, score: 0.25, comment: "too terse" });
      expect(res.status, res.text).toBe(201);
      expect(res.json.feedback).toMatchObject({ model: "ab", deployment: "lora", score: 0.25, team: "x" });
    }
    expect((await feedback("x", { request_id: of("lora")[0].id, score: "down" })).status).toBe(201);

    const usage = await p.call("GET", "/api/v1/llm/usage?team=x&limit=100");
    const records = usage.json.usage.filter((u: { model: string }) => u.model === "ab");
    const expected = (d: string) => {
      const rs = records.filter((u: { deployment: string }) => u.deployment === d);
      return {
        requests: rs.length,
        tokensIn: rs.reduce((n: number, u: { tokensIn: number }) => n + u.tokensIn, 0),
        cost: rs.reduce((n: number, u: { cost: number }) => n + u.cost, 0),
      };
    };
    const res = await p.call("GET", "/api/v1/llm/usage/variants?model=ab");
    expect(res.status, res.text).toBe(200);
    const row = (d: string) => res.json.variants.find((v: { deployment: string }) => v.deployment === d);
    const nLora = of("lora").length;
    expect(row("base")).toMatchObject({
      model: "ab",
      requests: of("base").length,
      errors: 0,
      errorRate: 0,
      feedbackCount: of("base").length,
      feedbackMean: 1,
      tokensIn: expected("base").tokensIn,
    });
    expect(row("lora")).toMatchObject({ requests: nLora, feedbackCount: nLora, errorRate: 0 });
    expect(row("lora").feedbackMean).toBeCloseTo((0.25 * (nLora - 1)) / nLora, 10);
    expect(row("lora").cost).toBeCloseTo(expected("lora").cost, 8);
    expect(row("lora").cost).toBeGreaterThan(0);
    expect(row("base").latencyP50Ms).toBeGreaterThan(0);

    // Prometheus, per variant.
    const metrics = (await p.call("GET", "/metrics")).text;
    expect(metrics).toContain(
      `llm_variant_requests_total{deployment="base",model="ab",outcome="ok"} ${of("base").length}`,
    );
    expect(metrics).toContain(`llm_variant_feedback_total{deployment="lora",model="ab"} ${nLora + 1}`);

    // The CLI.
    const cli = await keel(["llm", "usage", "--by-variant", "--model", "ab", "--json", "--url", p.url]);
    expect(cli.code, cli.err).toBe(0);
    expect(JSON.parse(cli.out)).toEqual(res.json.variants);
  });

  it("counts a fallback's answer as an error of the variant first chosen, not a request of the fallback", async () => {
    const broken = await startFakeOpenAI({ models: ["gone-m"] });
    broken.fail = 500;
    try {
      const route = await p.call("PUT", "/api/v1/llm/routes/ab-fb", {
        deployments: [
          { id: "chosen", provider: "openai", model: "gone-m", baseURL: broken.baseURL, weight: 1 },
          // Weight 0: never chosen, only a fallback.
          { id: "spare", provider: "openai", model: "base-m", baseURL: up.baseURL, weight: 0 },
        ],
        retries: 0,
      });
      expect(route.status, route.text).toBe(200);
      const client = new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey: keys.y, maxRetries: 0 });
      for (let i = 0; i < 4; i++) {
        const { data, response } = await client.chat.completions
          .create({ model: "ab-fb", messages: [{ role: "user", content: `fallback ${i}` }] })
          .withResponse();
        expect(response.headers.get("x-keel-deployment")).toBe("spare");
        expect(data.choices[0].message.content).toBe("from base-m");
      }
      const res = await p.call("GET", "/api/v1/llm/usage/variants?model=ab-fb");
      expect(res.status, res.text).toBe(200);
      expect(res.json.variants).toHaveLength(1);
      expect(res.json.variants[0]).toMatchObject({
        deployment: "chosen",
        requests: 4,
        errors: 4,
        errorRate: 1,
      });
      const metrics = (await p.call("GET", "/metrics")).text;
      expect(metrics).toContain(
        `llm_variant_requests_total{deployment="chosen",model="ab-fb",outcome="error"} 4`,
      );
      expect(metrics).not.toContain(`llm_variant_requests_total{deployment="spare",model="ab-fb"`);
      // Usage still names the deployment that answered (and paid).
      const usage = await p.call("GET", "/api/v1/llm/usage?team=y&limit=100");
      const fb = usage.json.usage.filter((u: { model: string }) => u.model === "ab-fb");
      expect(fb.map((u: { deployment: string }) => u.deployment)).toEqual([
        "spare",
        "spare",
        "spare",
        "spare",
      ]);
    } finally {
      await broken.close();
    }
  });

  it("refuses feedback from another team, on unknown ids and out-of-range scores; audits each", async () => {
    const client = new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey: keys.x, maxRetries: 0 });
    const { response } = await client.chat.completions
      .create({ model: "ab", messages: [{ role: "user", content: "hello" }] })
      .withResponse();
    const id = String(response.headers.get("x-keel-request-id"));
    const other = await feedback("y", { request_id: id, score: 1 });
    expect(other.status).toBe(404);
    expect(other.json.message).toContain("only from the team that made the request");
    expect((await feedback("x", { request_id: "nope", score: 1 })).status).toBe(404);
    expect((await feedback("x", { request_id: id, score: 1.5 })).status).toBe(400);
    expect((await p.call("POST", "/api/v1/llm/feedback", { request_id: id, score: 1 })).status).toBe(404);
    const ok = await feedback("x", { request_id: id, score: 1 });
    expect(ok.status, ok.text).toBe(201);
    const audit = await p.call("GET", `/api/v1/audit?resource=${encodeURIComponent(`llm-request:${id}`)}`);
    expect(audit.status, audit.text).toBe(200);
    expect(audit.json.events.map((e: { action: string }) => e.action)).toEqual(["llm.feedback.put"]);
    expect(audit.json.events[0].state).toMatchObject({ team: "x", score: 1, requestId: id });
  });
});
