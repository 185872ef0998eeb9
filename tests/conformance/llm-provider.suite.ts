import { type LlmProvider, ProviderError } from "@keel/llm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

export interface LlmProviderUnderTest {
  provider: LlmProvider;
  /** The upstream model name the deployment names. */
  model: string;
  /** What the upstream answers to any chat. */
  reply: string;
  /** The next request fails with this HTTP status (429 throttling, 500, 400 validation). */
  failNext(status: number): void;
  close?(): Promise<void>;
}

const ask = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Say hello" },
  ],
  ...extra,
});
const signal = () => AbortSignal.timeout(10_000);

/**
 * The provider port's contract, for every provider (OpenAI-compatible HTTP against the fake
 * upstream; Bedrock and SageMaker against stubbed SDK clients): a chat answers the reply in
 * OpenAI's shape with usage; a stream's deltas add up to the same reply, in chunks, with a
 * usage chunk when asked; failures are ProviderErrors whose status tells the router what to
 * do (429 and 5xx retryable, other 4xx the caller's).
 */
export function llmProviderSuite(name: string, setup: () => Promise<LlmProviderUnderTest>) {
  describe(`LlmProvider conformance: ${name}`, () => {
    let ut: LlmProviderUnderTest;
    beforeAll(async () => {
      ut = await setup();
    });
    afterAll(async () => {
      await ut?.close?.();
    });

    it("answers a chat completion with the reply and usage", async () => {
      const res = await ut.provider.chat(ask(ut.model), signal());
      expect(res.object).toBe("chat.completion");
      expect(res.choices[0].message).toMatchObject({ role: "assistant", content: ut.reply });
      expect(res.choices[0].finish_reason).toBe("stop");
      expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
      expect(res.usage?.completion_tokens).toBeGreaterThan(0);
    });

    it("streams deltas that add up to the reply, then usage when asked", async () => {
      const chunks = [];
      for await (const c of ut.provider.chatStream(
        ask(ut.model, { stream: true, stream_options: { include_usage: true } }),
        signal(),
      ))
        chunks.push(c);
      expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
      expect(text).toBe(ut.reply);
      expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThan(1);
      expect(chunks.some((c) => c.choices[0]?.finish_reason === "stop")).toBe(true);
      const usage = chunks.find((c) => c.usage)?.usage;
      expect(usage?.completion_tokens).toBeGreaterThan(0);
    });

    it("reports throttling and server failures as retryable, a bad request as the caller's", async () => {
      for (const [status, retryable] of [
        [429, true],
        [500, true],
        [400, false],
      ] as const) {
        ut.failNext(status);
        const err = await ut.provider.chat(ask(ut.model), signal()).catch((e) => e);
        expect(err).toBeInstanceOf(ProviderError);
        expect(err.status).toBe(status);
        expect(err.retryable).toBe(retryable);
      }
      ut.failNext(500);
      const streamErr = await (async () => {
        for await (const _ of ut.provider.chatStream(ask(ut.model, { stream: true }), signal()));
      })().catch((e) => e);
      expect(streamErr).toBeInstanceOf(ProviderError);
      expect(streamErr.status).toBe(500);
    });
  });
}
