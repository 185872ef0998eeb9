import { OpenAIHttpProvider, UpstreamPools } from "@keel/llm";
import { afterAll, describe, expect, it } from "vitest";
import { startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe("the OpenAI-compatible provider's keep-alive transport", () => {
  const pools = new UpstreamPools({ connections: 4 });
  afterAll(() => pools.close());

  it("reuses its connections across requests (one pool per origin)", async () => {
    const up = await startFakeOpenAI();
    try {
      const p = new OpenAIHttpProvider({ baseURL: up.baseURL, pools });
      const q = new OpenAIHttpProvider({ baseURL: `${up.baseURL}/`, pools });
      for (let i = 0; i < 20; i++) {
        const r = await (i % 2 ? p : q).chat(
          { model: "fake-chat", messages: [{ role: "user", content: `hi ${i}` }] },
          new AbortController().signal,
        );
        expect(r.choices[0].message.content).toBe("Hello from the fake model.");
      }
      expect(up.requests).toHaveLength(20);
      // Sequential calls ride the same keep-alive sockets (fetch-per-call would open 20).
      expect(up.connections).toBeLessThanOrEqual(2);
    } finally {
      await up.close();
    }
  });

  it("closes the upstream request when the caller stops reading a stream", async () => {
    const up = await startFakeOpenAI({ chunkSize: 2, tokenIntervalMs: 20, reply: "x".repeat(400) });
    try {
      const p = new OpenAIHttpProvider({ baseURL: up.baseURL, pools });
      const it = p
        .chatStream(
          { model: "fake-chat", messages: [{ role: "user", content: "go" }] },
          new AbortController().signal,
        )
        [Symbol.asyncIterator]();
      await it.next();
      await it.next();
      await it.return?.();
      await until(() => up.streamsClosedEarly > 0);
      expect(up.streamsClosedEarly).toBe(1);
    } finally {
      await up.close();
    }
  });

  it("times out a stalled upstream with the per-try timeout as a 504", async () => {
    const up = await startFakeOpenAI();
    up.stallMs = 2000;
    try {
      const p = new OpenAIHttpProvider({ baseURL: up.baseURL, pools });
      const err = await p
        .chat(
          { model: "fake-chat", messages: [{ role: "user", content: "hi" }] },
          new AbortController().signal,
          {
            timeoutMs: 100,
          },
        )
        .catch((e) => e);
      expect(err.name).toBe("ProviderError");
      expect(err.status).toBe(504);
    } finally {
      await up.close();
    }
  });

  it("aborts the upstream call when the gateway's caller disconnects (non-streaming)", async () => {
    const up = await startFakeOpenAI();
    const p = await startTestPlatform({
      config: { llm: { upstreams: `chat=${up.baseURL}`, cacheMaxEntries: 10 } },
    });
    try {
      up.stallMs = 3000;
      const ctl = new AbortController();
      const call = fetch(`${p.url}/llm/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
        signal: ctl.signal,
      }).catch((e) => e);
      await until(() => up.requests.length > 0);
      ctl.abort();
      expect(await call).toBeInstanceOf(Error);
      // Well before the upstream's 3 s stall ends, the gateway has closed its upstream request.
      await until(() => up.closedEarly > 0);
      expect(up.closedEarly).toBe(1);
      expect(up.requests).toHaveLength(1);
    } finally {
      await p.close();
      await up.close();
    }
  });
});
