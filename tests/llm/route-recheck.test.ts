import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApprovalGate } from "../../packages/llm/src/route-approval";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";
import { createRun, mlflowClient, type TestPlatform } from "../registry/registry-fixtures";

/**
 * A stored route naming a registered model version is re-checked while it serves, not only when
 * it is put: once the version leaves Production, the next request goes to the route's other
 * deployments, or is refused when none is left; re-approval restores it; renaming the model (or
 * registering another under the old name) does not bypass the rule.
 */
let p: TestPlatform;
let vllm: FakeOpenAI;
let client: OpenAI;

const keel = (method: string, path: string, body: unknown, principal: string) =>
  p.call(method, `/api/v1${path}`, body, { "x-keel-principal": principal });

async function promote(model: string, stage: string) {
  const req = await keel("POST", `/models/${model}/versions/1/promotions`, { stage }, "alice");
  expect(req.status, req.text).toBe(201);
  const done = await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "bob");
  expect(done.status, done.text).toBe(200);
}

async function register(name: string) {
  const api = mlflowClient(p);
  const run = await createRun(p, { metrics: { rougeL: 0.4 } });
  await api.ok("POST", "/registered-models/create", { name });
  await api.ok("POST", "/model-versions/create", {
    name,
    source: `runs:/${run.runId}/adapter`,
    run_id: run.runId,
  });
}

const lora = {
  id: "lora",
  provider: "openai",
  model: "lora-m",
  weight: 1,
  registeredModel: { name: "chat-lora", version: 1 },
};

async function chat(model: string) {
  const { data, response } = await client.chat.completions
    .create({ model, messages: [{ role: "user", content: "hi" }] })
    .withResponse();
  return { text: data.choices[0].message.content, deployment: response.headers.get("x-keel-deployment") };
}

async function refused(model: string): Promise<string> {
  const res = await p.call(
    "POST",
    "/llm/v1/chat/completions",
    { model, messages: [{ role: "user", content: "hi" }] },
    { authorization: `Bearer ${client.apiKey}` },
  );
  expect(res.status, res.text).toBe(403);
  expect(res.json.error.code).toBe("model_not_approved");
  return res.json.error.message;
}

beforeAll(async () => {
  vllm = await startFakeOpenAI({ models: ["base-m", "lora-m"], reply: (b) => `from ${b.model}` });
  p = await startTestPlatform({ config: { http: { maxInFlight: 0 } } });
  await register("chat-lora");
  await promote("chat-lora", "Production");
  const base = { id: "base", provider: "openai", model: "base-m", baseURL: vllm.baseURL, weight: 1 };
  const withUrl = { ...lora, baseURL: vllm.baseURL };
  for (const [name, deployments] of [
    ["ab", [base, withUrl]],
    ["lora-only", [withUrl]],
  ] as const) {
    const put = await keel("PUT", `/llm/routes/${name}`, { deployments }, "alice");
    expect(put.status, put.text).toBe(200);
  }
  const key = await keel("POST", "/llm/keys", { name: "k", team: "cx" }, "alice");
  client = new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey: key.json.key, maxRetries: 0 });
});
afterAll(async () => {
  await p?.close();
  await vllm?.close();
});

describe("stored routes re-checked against the registry", () => {
  it("stops serving an archived version at the next request, and serves it again once re-approved", async () => {
    expect(await chat("lora-only")).toEqual({ text: "from lora-m", deployment: "lora" });
    await promote("chat-lora", "Archived");
    const why = await refused("lora-only");
    expect(why).toContain(
      "model 'chat-lora' version 1 was approved for Production but is now in stage 'Archived'",
    );
    // The A/B route falls back to its other deployment: every request goes to the base model.
    for (let i = 0; i < 8; i++) expect(await chat("ab")).toEqual({ text: "from base-m", deployment: "base" });
    await promote("chat-lora", "Production");
    expect(await chat("lora-only")).toEqual({ text: "from lora-m", deployment: "lora" });
  });

  it("is not bypassed by renaming the model or registering another under the old name", async () => {
    await promote("chat-lora", "Archived");
    await mlflowClient(p).ok("POST", "/registered-models/rename", {
      name: "chat-lora",
      new_name: "chat-lora-old",
    });
    expect(await refused("lora-only")).toContain("model 'chat-lora' version 1 is not registered");
    // A new model under the old name: its version 1 has no approval of its own.
    await register("chat-lora");
    expect(await refused("lora-only")).toContain(
      "model 'chat-lora' version 1 has no approved promotion to Production",
    );
    // The renamed model's approval does not follow the route's name either.
    await promote("chat-lora-old", "Production");
    await refused("lora-only");
  });
});

describe("ApprovalGate", () => {
  it("reads the registry once per version per staleness window, and at once after a change", async () => {
    let now = 0;
    let reads = 0;
    let answer: string | undefined;
    const gate = new ApprovalGate(
      async () => {
        reads++;
        return answer;
      },
      () => now,
      5000,
    );
    await Promise.all(Array.from({ length: 50 }, () => gate.refused("m", 1)));
    expect(reads).toBe(1);
    answer = "archived";
    now = 4999;
    expect(await gate.refused("m", 1)).toBeUndefined();
    expect(reads).toBe(1);
    now = 5000;
    expect(await gate.refused("m", 1)).toBe("archived");
    expect(reads).toBe(2);
    answer = undefined;
    gate.invalidate();
    expect(await gate.refused("m", 1)).toBeUndefined();
    expect(reads).toBe(3);
  });

  it("fails closed when the registry cannot be read", async () => {
    const gate = new ApprovalGate(
      async () => {
        throw new Error("store down");
      },
      () => 0,
    );
    expect(await gate.refused("m", 2)).toContain("its approval could not be checked");
  });
});
