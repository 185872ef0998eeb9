import { StoreAuditLog } from "@keel/audit";
import { systemClock } from "@keel/core";
import {
  type ChatChunk,
  CircuitBreakers,
  LlmError,
  LlmMetrics,
  type LlmProvider,
  LlmRouter,
  ProviderFactory,
  RouteStore,
} from "@keel/llm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshMetadataStore } from "../helpers/metadata";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";

let fake: FakeOpenAI;
let slow: FakeOpenAI;
let router: LlmRouter;
let routes: RouteStore;
let circuits: CircuitBreakers;
let now = 1_000_000;
let closeStore: () => Promise<void>;
const ask = { model: "x", messages: [{ role: "user", content: "hello there" }] };

beforeAll(async () => {
  fake = await startFakeOpenAI({ chunkSize: 4 });
  slow = await startFakeOpenAI({ tokenIntervalMs: 5 });
  const fresh = await freshMetadataStore();
  const store = fresh.store;
  closeStore = fresh.close;
  const clock = { now: () => now };
  routes = new RouteStore(store, new StoreAuditLog(store, systemClock), clock, [], 0);
  circuits = new CircuitBreakers(() => now, 2, 30_000);
  router = new LlmRouter(
    routes,
    new ProviderFactory({ region: "us-east-1" }),
    circuits,
    new LlmMetrics(),
    () => 0,
  );
});

afterAll(async () => {
  await fake?.close();
  await slow?.close();
  await closeStore?.();
});

const plan = async (model: string, tokens = 100) => router.plan(await router.resolve(model, () => tokens));

describe("LLM router", () => {
  it("times a stalled deployment out per try and falls back", async () => {
    slow.stallMs = 2_000;
    await routes.put({
      model: "stall",
      retries: 0,
      deployments: [
        { id: "slow", provider: "openai", model: "fake-chat", baseURL: slow.baseURL, timeoutMs: 150 },
        { id: "fast", provider: "openai", model: "fake-chat", baseURL: fake.baseURL, weight: 0 },
      ],
    });
    try {
      const served = await router.chat(await plan("stall"), ask);
      expect(served.target.deployment.id).toBe("fast");
      expect(served.fallbacks).toBe(1);
    } finally {
      slow.stallMs = 0;
    }
  });

  it("opens a deployment's circuit after repeated failures and skips it until it half-opens", async () => {
    fake.fail = undefined;
    slow.fail = 503;
    await routes.put({
      model: "cb",
      retries: 0,
      deployments: [
        { id: "flaky", provider: "openai", model: "fake-chat", baseURL: slow.baseURL },
        { id: "steady", provider: "openai", model: "fake-chat", baseURL: fake.baseURL, weight: 0 },
      ],
    });
    const before = slow.requests.length;
    for (let i = 0; i < 4; i++) await router.chat(await plan("cb"), ask);
    expect(slow.requests.length - before).toBe(2); // two failures opened the circuit
    expect(circuits.isOpen("cb/flaky")).toBe(true);
    slow.fail = undefined;
    now += 31_000; // half-open: one trial goes through and closes the circuit
    const trial = await router.chat(await plan("cb"), ask);
    expect(trial.target.deployment.id).toBe("flaky");
    expect(circuits.isOpen("cb/flaky")).toBe(false);
  });

  it("retries a stream only before its first chunk; a caller's 4xx is answered at once", async () => {
    slow.fail = 500;
    await routes.put({
      model: "s",
      retries: 1,
      deployments: [{ id: "only", provider: "openai", model: "fake-chat", baseURL: slow.baseURL }],
    });
    const before = slow.requests.length;
    await expect(router.stream(await plan("s"), { ...ask, stream: true })).rejects.toMatchObject({
      status: 502,
    });
    expect(slow.requests.length - before).toBe(2); // a try and its retry
    slow.fail = undefined;
    now += 31_000;
    // Once the first chunk is out, a broken stream is the caller's to see: no retry, no fallback.
    slow.failAfterChunks = 2;
    const started = slow.requests.length;
    const opened = await router.stream(await plan("s"), { ...ask, stream: true });
    const broken = await (async () => {
      for (let r = await opened.value.rest.next(); !r.done; r = await opened.value.rest.next());
    })().catch((e) => e);
    expect(broken).toMatchObject({ status: 502 });
    expect(slow.requests.length - started).toBe(1);
    slow.failAfterChunks = undefined;
    now += 31_000;
    slow.fail = 400;
    const n = slow.requests.length;
    await expect(router.chat(await plan("s"), ask)).rejects.toMatchObject({ status: 400 });
    expect(slow.requests.length - n).toBe(1);
    slow.fail = undefined;
  });

  it("sends short prompts to the complexity rule's small model", async () => {
    await routes.put({
      model: "small",
      deployments: [{ id: "s", provider: "openai", model: "tiny", baseURL: fake.baseURL }],
    });
    await routes.put({
      model: "big",
      complexity: { maxPromptTokens: 50, model: "small" },
      deployments: [{ id: "b", provider: "openai", model: "huge", baseURL: fake.baseURL }],
    });
    expect((await router.resolve("big", () => 10)).route.model).toBe("small");
    expect((await router.resolve("big", () => 500)).route.model).toBe("big");
  });

  it("splits traffic by weight", async () => {
    await routes.put({
      model: "ab",
      deployments: [
        { id: "base", provider: "openai", model: "m", baseURL: fake.baseURL, weight: 3 },
        { id: "lora", provider: "openai", model: "m-lora", baseURL: fake.baseURL, weight: 1 },
      ],
    });
    let seed = 0;
    const r = new LlmRouter(routes, new ProviderFactory({ region: "x" }), circuits, new LlmMetrics(), () => {
      seed = (seed * 9301 + 49297) % 233280;
      return seed / 233280;
    });
    const counts: Record<string, number> = { base: 0, lora: 0 };
    for (let i = 0; i < 200; i++) counts[(await r.plan(await r.resolve("ab", () => 1)))[0].deployment.id]++;
    expect(counts.base / 200).toBeGreaterThan(0.62);
    expect(counts.base / 200).toBeLessThan(0.88);
  });

  it("serves virtual model names through a registered prefix provider", async () => {
    const seen: string[] = [];
    const rag: LlmProvider = {
      kind: "rag",
      async chat(req) {
        seen.push(req.model);
        return {
          id: "r",
          object: "chat.completion",
          created: 0,
          model: req.model,
          choices: [{ index: 0, message: { role: "assistant", content: "from kb" }, finish_reason: "stop" }],
        };
      },
      async *chatStream(): AsyncIterable<ChatChunk> {},
    };
    router.registerVirtual({ prefix: "rag:", provider: rag, list: async () => ["rag:policies"] });
    const served = await router.chat(await plan("rag:policies"), ask);
    expect(served.value.choices[0].message.content).toBe("from kb");
    expect(seen).toEqual(["rag:policies"]);
    expect(await router.virtualModels()).toEqual(["rag:policies"]);
    const missing = await router.resolve("nope", () => 1).catch((e) => e);
    expect(missing).toBeInstanceOf(LlmError);
    expect(missing.body().error.code).toBe("model_not_found");
  });
});
