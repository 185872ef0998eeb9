import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";
import { createRun, mlflowClient, type TestPlatform } from "../registry/registry-fixtures";

/**
 * A route deployment naming a registered model version (a LoRA adapter) follows the registry's
 * approval rules: only a version approved for Production (four-eyes promotion) may take
 * traffic, and one archived after its approval is refused on the next change of the route.
 * Then the approved adapter is A/B-tested against its base model by weight, through the gateway.
 */
let p: TestPlatform;
let vllm: FakeOpenAI;
const BASE = "meta-llama/Llama-3.1-8B-Instruct";
const ADAPTER = "chat-lora-v1";

const keel = (method: string, path: string, body: unknown, principal: string) =>
  p.call(method, `/api/v1${path}`, body, { "x-keel-principal": principal });

/** Base and adapter on the same vLLM server: vLLM serves a LoRA adapter as its own model name. */
const abRoute = (weights: [number, number]) => ({
  deployments: [
    { id: "base", provider: "openai", model: BASE, baseURL: vllm.baseURL, weight: weights[0] },
    {
      id: "lora",
      provider: "openai",
      model: ADAPTER,
      baseURL: vllm.baseURL,
      weight: weights[1],
      registeredModel: { name: "chat-lora", version: 1 },
    },
  ],
});

beforeAll(async () => {
  vllm = await startFakeOpenAI({ models: [BASE, ADAPTER], reply: (b) => `answer from ${b.model}` });
  p = await startTestPlatform({ config: { http: { maxInFlight: 0 } } });
  const api = mlflowClient(p);
  const run = await createRun(p, { metrics: { rougeL: 0.41 }, params: { base_model: BASE } });
  await api.ok("POST", "/registered-models/create", { name: "chat-lora" });
  await api.ok("POST", "/model-versions/create", {
    name: "chat-lora",
    source: `runs:/${run.runId}/adapter`,
    run_id: run.runId,
  });
});
afterAll(async () => {
  await p?.close();
  await vllm?.close();
});

describe("routes that name a registered model version", () => {
  it("refuses an unapproved version, naming it and how to request approval", async () => {
    const res = await keel("PUT", "/llm/routes/chat", abRoute([1, 1]), "alice");
    expect(res.status).toBe(403);
    expect(res.json.message).toContain("model 'chat-lora' version 1 has no approved promotion to Production");
    expect(res.json.message).toContain("keel model promote chat-lora 1 --stage Production");
    expect((await keel("GET", "/llm/routes/chat", undefined, "alice")).status).toBe(404);
    // A version that does not exist is refused too.
    const ghost = abRoute([1, 1]);
    ghost.deployments[1].registeredModel = { name: "chat-lora", version: 9 };
    const missing = await keel("PUT", "/llm/routes/chat", ghost, "alice");
    expect(missing.status).toBe(403);
    expect(missing.json.message).toContain("version 9 is not registered");
    // A pending request is not an approval.
    const req = await keel(
      "POST",
      "/models/chat-lora/versions/1/promotions",
      { stage: "Production" },
      "alice",
    );
    expect(req.status).toBe(201);
    expect((await keel("PUT", "/llm/routes/chat", abRoute([1, 1]), "alice")).status).toBe(403);
    const approved = await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "bob");
    expect(approved.status, approved.text).toBe(200);
  });

  it("accepts the approved version and splits traffic by weight, with per-deployment usage", async () => {
    const put = await keel("PUT", "/llm/routes/chat", abRoute([1, 1]), "alice");
    expect(put.status, put.text).toBe(200);
    expect(put.json.deployments[1].registeredModel).toEqual({ name: "chat-lora", version: 1 });
    const key = await keel("POST", "/llm/keys", { name: "ab", team: "cx" }, "alice");
    expect(key.status, key.text).toBe(201);
    const client = new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey: key.json.key, maxRetries: 0 });
    const before = vllm.requests.length;
    const answers: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: `question ${i}` }],
      });
      answers.push(r.choices[0].message.content ?? "");
    }
    const upstream = vllm.requests.slice(before).map((r) => r.body.model);
    const toBase = upstream.filter((m) => m === BASE).length;
    const toLora = upstream.filter((m) => m === ADAPTER).length;
    expect(toBase + toLora).toBe(40);
    expect(toBase).toBeGreaterThan(0);
    expect(toLora).toBeGreaterThan(0);
    expect(answers.filter((a) => a === `answer from ${ADAPTER}`)).toHaveLength(toLora);

    const usage = await keel("GET", "/llm/usage?team=cx&limit=100", undefined, "alice");
    expect(usage.status, usage.text).toBe(200);
    const per = (d: string) => usage.json.usage.filter((u: { deployment: string }) => u.deployment === d);
    expect(per("base")).toHaveLength(toBase);
    expect(per("lora")).toHaveLength(toLora);
    expect(per("lora").every((u: { model: string }) => u.model === "chat")).toBe(true);

    // All traffic to the adapter: weight 0 takes the base out of the split.
    await keel("PUT", "/llm/routes/chat", abRoute([0, 1]), "alice");
    const start = vllm.requests.length;
    for (let i = 0; i < 5; i++)
      await client.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "x" }] });
    expect(vllm.requests.slice(start).map((r) => r.body.model)).toEqual(Array(5).fill(ADAPTER));
  });

  it("refuses the next change once the approved version is archived", async () => {
    // Leaving Production is itself a four-eyes promotion; the old Production approval stays on record.
    const req = await keel("POST", "/models/chat-lora/versions/1/promotions", { stage: "Archived" }, "alice");
    expect(req.status, req.text).toBe(201);
    const done = await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "bob");
    expect(done.status, done.text).toBe(200);
    // An alias the policy does not protect is no place in production.
    await mlflowClient(p).ok("POST", "/registered-models/alias", {
      name: "chat-lora",
      alias: "canary",
      version: "1",
    });
    const res = await keel("PUT", "/llm/routes/chat", abRoute([1, 1]), "alice");
    expect(res.status).toBe(403);
    expect(res.json.message).toContain("approved for Production but is now in stage 'Archived'");
    expect(res.json.message).toContain("keel model promote chat-lora 1 --stage Production");
    // The stored route is unchanged (the refused put wrote nothing).
    const stored = await keel("GET", "/llm/routes/chat", undefined, "alice");
    expect(stored.json.deployments.map((d: { weight: number }) => d.weight)).toEqual([0, 1]);
    // A route without registered models is not affected.
    const plain = await keel(
      "PUT",
      "/llm/routes/base-only",
      { deployments: [{ id: "base", provider: "openai", model: BASE, baseURL: vllm.baseURL }] },
      "alice",
    );
    expect(plain.status, plain.text).toBe(200);
  });
});
