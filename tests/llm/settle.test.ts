import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

/**
 * The Lambda entry (functions/llm.ts) answers through `llm.settle`: the answer's body ends only
 * once its request's usage record is in the store, so a container frozen or recycled right
 * after the answer loses no acknowledged request's record. Checked on the store itself (not
 * through the usage API, which flushes first), for a JSON answer and a stream.
 */
type Platform = Awaited<ReturnType<typeof startTestPlatform>>;
let p: Platform;
let upstream: FakeOpenAI;
let key: string;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  p = await startTestPlatform({ config: { http: { maxInFlight: 0 } } });
  const route = await p.call("PUT", "/api/v1/llm/routes/chat", {
    deployments: [
      {
        id: "d",
        provider: "openai",
        model: "fake-chat",
        baseURL: upstream.baseURL,
        price: { input: 1, output: 1 },
      },
    ],
  });
  expect(route.status, route.text).toBe(200);
  const k = await p.call("POST", "/api/v1/llm/keys", { name: "lambda", team: "lambda" });
  expect(k.status, k.text).toBe(201);
  key = k.json.key as string;
});

afterAll(async () => {
  await p?.close();
  await upstream?.close();
});

/** What a Lambda invocation does: the app's answer through settle, read to its end. */
async function invoke(stream: boolean): Promise<{ status: number; requestId: string; text: string }> {
  const req = new Request("http://lambda.local/llm/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], stream }),
  });
  const res = p.platform.services.llm.settle(await p.platform.app.fetch(req));
  const text = await res.text();
  return { status: res.status, requestId: String(res.headers.get("x-keel-request-id")), text };
}

async function storedIds(): Promise<string[]> {
  const items = await p.platform.deps.store.queryAll({ pk: "llm#usage#lambda" });
  return items.map((i) => String(i.sk).split("#")[1]);
}

describe("answers settled before a Lambda container may freeze", () => {
  it("has the usage record in the store when the answer ends, for JSON and for a stream", async () => {
    for (const stream of [false, true]) {
      const r = await invoke(stream);
      expect(r.status).toBe(200);
      if (stream) expect(r.text).toContain("data: [DONE]");
      const id = r.requestId.split("-").slice(1).join("-");
      expect(id).not.toBe("");
      expect(await storedIds()).toContain(id);
    }
  });
});
