import { ensureConsoleBuilt } from "@keel/console";
import OpenAI from "openai";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";
import { launchBrowser, openPage, screenshot } from "./browser";

/** The console's LLM usage page in a real browser, over gateway traffic with a fallback and an error. */
describe("console: LLM usage (browser)", () => {
  let p: Awaited<ReturnType<typeof startTestPlatform>>;
  let good: FakeOpenAI;
  let bad: FakeOpenAI;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ensureConsoleBuilt({ quiet: true });
    good = await startFakeOpenAI();
    bad = await startFakeOpenAI();
    bad.fail = 500;
    p = await startTestPlatform();
    const d = (id: string, f: FakeOpenAI, weight: number) => ({
      id,
      provider: "openai",
      model: "fake-chat",
      baseURL: f.baseURL,
      weight,
      price: { input: 1, output: 2 },
    });
    for (const [model, route] of [
      ["chat", { deployments: [d("bad", bad, 1), d("good", good, 0)], retries: 0 }],
      ["broken", { deployments: [d("bad", bad, 1)], retries: 0 }],
    ] as const)
      expect((await p.call("PUT", `/api/v1/llm/routes/${model}`, route)).status).toBe(200);
    const key = (await p.call("POST", "/api/v1/llm/keys", { name: "risk", team: "risk" })).json.key;
    const client = new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey: key, maxRetries: 0 });
    const hi = [{ role: "user" as const, content: "hello there" }];
    await client.chat.completions.create({ model: "chat", messages: hi });
    const s = await client.chat.completions.create({ model: "chat", messages: hi, stream: true });
    for await (const _ of s);
    await client.chat.completions.create({ model: "broken", messages: hi }).catch(() => undefined);
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser, p.url));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await p?.close();
    await good?.close();
    await bad?.close();
  });

  it("shows usage and cost per team and model, latency, TTFT, errors and fallbacks", async () => {
    // `/llm/...` is the gateway's own API (and CloudFront sends `/llm*` to it); the page lives at /gateway.
    await page.goto("/gateway");
    await page.locator("main h1").first().waitFor();
    const row = page.getByTestId("llm-row-risk/chat");
    await row.waitFor();
    const cells = await row.locator("td").allTextContents();
    // Requests, tokens in, tokens out, cost, latency, TTFT, errors, fallbacks, cache hits.
    expect(cells[0]).toBe("2");
    expect(Number(cells[1])).toBeGreaterThan(0);
    expect(Number(cells[3])).toBeGreaterThan(0);
    expect(cells[5]).toMatch(/^\d+$/);
    expect(cells[6]).toBe("0");
    expect(cells[7]).toBe("2");
    const broken = await page.getByTestId("llm-row-risk/broken").locator("td").allTextContents();
    expect(broken[0]).toBe("1");
    expect(broken[6]).toBe("1");
    expect(await page.getByTestId("llm-row-risk").locator("td").first().textContent()).toBe("3");
    await expect(page.getByRole("link", { name: "LLM usage" }).count()).resolves.toBeGreaterThan(0);
    await screenshot(page, "llm-usage");
    expect(errors).toEqual([]);
  });
});
