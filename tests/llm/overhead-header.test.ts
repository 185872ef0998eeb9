import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

/**
 * The gateway reports its own time on each request (`x-keel-overhead-ms`, and `Server-Timing`
 * with `gateway`, `upstream` and `total`): the time in the gateway less the wait for the
 * upstream. Against an upstream that stalls a set delay, the upstream part holds the delay and
 * the overhead stays far below it, with keys, limits, guardrails and usage logging on.
 */
type Platform = Awaited<ReturnType<typeof startTestPlatform>>;
let p: Platform;
let upstream: FakeOpenAI;
let key: string;
// Long enough that a busy shared machine's scheduling delays stay far below it.
const DELAY_MS = 1000;

beforeAll(async () => {
  upstream = await startFakeOpenAI({ reply: "Call me at 010-1234-5678 tomorrow." });
  p = await startTestPlatform({ config: { http: { maxInFlight: 0 } } });
  const route = await p.call("PUT", "/api/v1/llm/routes/chat", {
    deployments: [{ id: "d", provider: "openai", model: "fake-chat", baseURL: upstream.baseURL }],
    guardrails: { input: "redact", output: "redact" },
  });
  expect(route.status, route.text).toBe(200);
  const k = await p.call("POST", "/api/v1/llm/keys", {
    name: "timing",
    team: "timing",
    limits: { rpm: 1000, tpm: 1_000_000 },
  });
  expect(k.status, k.text).toBe(201);
  key = k.json.key as string;
  // One request first: the first one also pays for loading the tokenizer and the first connection.
  expect((await chat(false)).status).toBe(200);
});

afterAll(async () => {
  await p?.close();
  await upstream?.close();
});

function timings(res: Response): { overhead: number; gateway: number; upstream: number; total: number } {
  const header = res.headers.get("server-timing") ?? "";
  const dur = (name: string) => Number(new RegExp(`(?:^|, )${name};dur=([0-9.]+)`).exec(header)?.[1]);
  return {
    overhead: Number(res.headers.get("x-keel-overhead-ms")),
    gateway: dur("gateway"),
    upstream: dur("upstream"),
    total: dur("total"),
  };
}

async function chat(stream: boolean): Promise<Response> {
  return fetch(`${p.url}/llm/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: "chat",
      messages: [{ role: "user", content: "My card is 4111 1111 1111 1111." }],
      ...(stream ? { stream: true } : {}),
    }),
  });
}

describe("the gateway's own overhead in each answer", () => {
  it("reports the overhead apart from the upstream's delay, without and with streaming", async () => {
    upstream.stallMs = DELAY_MS;
    for (const stream of [false, true]) {
      const res = await chat(stream);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain("010-1234-5678"); // the output guardrail ran
      const t = timings(res);
      expect(Number.isFinite(t.overhead)).toBe(true);
      expect(t.overhead).toBeGreaterThanOrEqual(0);
      expect(t.gateway).toBeCloseTo(t.overhead, 2);
      // The stall is the upstream's, not the gateway's.
      expect(t.upstream).toBeGreaterThanOrEqual(DELAY_MS);
      expect(t.overhead).toBeLessThan(DELAY_MS / 2);
      expect(t.total).toBeGreaterThanOrEqual(t.upstream);
      expect(t.total - t.upstream - t.overhead).toBeCloseTo(0, 1);
    }
    // The prompt reached the upstream redacted.
    const sent = JSON.stringify(upstream.requests.at(-1)?.body);
    expect(sent).not.toContain("4111 1111 1111 1111");
  });

  it("leaves the header off OpenAI-shaped errors and reports it again after", async () => {
    upstream.stallMs = 0;
    upstream.fail = 400;
    try {
      const res = await chat(false);
      expect(res.status).toBe(400);
      expect(res.headers.get("x-keel-overhead-ms")).toBeNull(); // errors carry OpenAI's shape only
    } finally {
      upstream.fail = undefined;
    }
    const ok = await chat(false);
    expect(ok.status).toBe(200);
    const t = timings(ok);
    expect(t.upstream).toBeGreaterThan(0);
    expect(t.overhead).toBeLessThan(DELAY_MS / 2);
  });
});
