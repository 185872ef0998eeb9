import { PublishCommand, type PublishCommandInput } from "@aws-sdk/client-sns";
import { type BudgetAlert, budgetAlertPublishInput, EMF, snsBudgetAlerts } from "@keel/llm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

/** The gateway's AWS outputs: EMF lines per call (KEEL_LLM_EMF=on) and SNS budget alerts. */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  p = await startTestPlatform({
    config: {
      core: { stage: "emf-test" },
      llm: { upstreams: `chat=${fake.baseURL}`, cacheMaxEntries: 100, emf: "on" },
    },
  });
});
afterAll(async () => {
  await p?.close();
  await fake?.close();
});

describe("CloudWatch embedded metric format", () => {
  it("writes one EMF line per call with tokens, cost, duration, TTFT and cache hits under Stage", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      const text = String(chunk);
      if (text.includes('"CloudWatchMetrics"')) lines.push(text);
      return true;
    });
    try {
      const client = new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey: "unused", maxRetries: 0 });
      await client.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "hi" }] });
      const s = await client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: "stream" }],
        stream: true,
      });
      for await (const _ of s);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(2);
    const [plain, streamed] = lines.map((l) => JSON.parse(l));
    const directive = plain._aws.CloudWatchMetrics[0];
    expect(directive).toMatchObject({ Namespace: "Keel/Llm", Dimensions: [["Stage"], ["Stage", "Model"]] });
    expect(plain).toMatchObject({ Stage: "emf-test", Model: "chat", [EMF.requests]: 1, [EMF.cacheHits]: 0 });
    expect(plain[EMF.tokensIn]).toBeGreaterThan(0);
    expect(plain[EMF.tokensOut]).toBeGreaterThan(0);
    expect(plain[EMF.duration]).toBeGreaterThan(0);
    expect(plain[EMF.ttft]).toBeUndefined();
    expect(streamed[EMF.ttft]).toBeGreaterThan(0);
    // Every value the line carries is declared as a metric (CloudWatch ignores undeclared ones).
    const declared = streamed._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name);
    expect(declared).toEqual(expect.arrayContaining([EMF.ttft, EMF.tokensIn, EMF.cost, EMF.fallbacks]));
  });
});

describe("budget alerts on SNS", () => {
  const alert: BudgetAlert = { team: "risk", period: "2026-12", threshold: 0.8, spent: 8.1, amount: 10 };
  const topic = "arn:aws:sns:us-east-1:123456789012:keel-test-llm-budget";

  it("builds a PublishCommand input the SDK's types accept", () => {
    const input: PublishCommandInput = budgetAlertPublishInput(topic, alert);
    expect(input.TopicArn).toBe(topic);
    expect(input.Subject?.length).toBeLessThan(100);
    expect(input.Subject).toContain("80%");
    expect(JSON.parse(input.Message as string).alert).toEqual(alert);
    expect(input.MessageAttributes?.team).toEqual({ DataType: "String", StringValue: "risk" });
  });

  it("sends one PublishCommand per alert through the client", async () => {
    const sent: unknown[] = [];
    await snsBudgetAlerts(topic, { send: async (c) => sent.push(c) })(alert);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(PublishCommand);
    expect((sent[0] as PublishCommand).input.TopicArn).toBe(topic);
  });
});
