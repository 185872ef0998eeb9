import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keel } from "../cli/keel";
import { readParquetRows } from "../features/helpers/parquet";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

let p: Awaited<ReturnType<typeof startTestPlatform>>;
let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  p = await startTestPlatform();
});
afterAll(async () => {
  await p?.close();
  await fake?.close();
});

describe("keel llm", () => {
  it("adds a route, creates a key, reads usage and revokes the key", async () => {
    const url = ["--url", p.url];
    const add = await keel([
      "llm",
      "route",
      "add",
      "chat",
      "--base-url",
      fake.baseURL,
      "--upstream-model",
      "fake-chat",
      "--price-in",
      "1",
      "--price-out",
      "2",
      ...url,
    ]);
    expect(add.err).toBe("");
    expect(add.out).toContain("route chat: default");

    const created = await keel([
      "llm",
      "key",
      "create",
      "--team",
      "cards",
      "--name",
      "app",
      "--rpm",
      "100",
      ...url,
    ]);
    expect(created.code, created.err).toBe(0);
    const key = created.out.trim().split("\n").at(-1) ?? "";
    expect(key).toMatch(/^sk-keel-/);

    const client = new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey: key, maxRetries: 0 });
    const res = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "hi there" }],
    });
    expect(res.choices[0].message.content).toBe("Hello from the fake model.");

    const usage = await keel(["llm", "usage", "--team", "cards", "--json", ...url]);
    expect(usage.code, usage.err).toBe(0);
    const rows = JSON.parse(usage.out);
    expect(rows).toEqual([
      expect.objectContaining({ team: "cards", model: "chat", requests: 1, tokensIn: 2, tokensOut: 5 }),
    ]);
    expect(rows[0].cost).toBeCloseTo((2 * 1 + 5 * 2) / 1000, 8);

    const file = join(mkdtempSync(join(tmpdir(), "keel-usage-")), "usage.parquet");
    const exported = await keel(["llm", "usage", "export", "--out", file, "--from", "2020-01-01", ...url]);
    expect(exported.code, exported.err).toBe(0);
    const parquet = await readParquetRows(file);
    expect(parquet).toEqual([
      expect.objectContaining({ team: "cards", model: "chat", tokens_in: 2, tokens_out: 5 }),
    ]);

    const list = await keel(["llm", "key", "list", "--team", "cards", "--json", ...url]);
    const [record] = JSON.parse(list.out);
    const revoke = await keel(["llm", "key", "revoke", record.id, ...url]);
    expect(revoke.out).toContain(`revoked ${record.id}`);
    await expect(
      client.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({
      status: 401,
    });
  });
});
