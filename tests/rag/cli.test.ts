import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keel } from "../cli/keel";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";
import { extractiveReply } from "./extractive-reply";

let fake: FakeOpenAI;
let p: Awaited<ReturnType<typeof startTestPlatform>>;
const folder = mkdtempSync(join(tmpdir(), "keel-rag-cli-"));
const golden = join(import.meta.dirname, "golden.jsonl");

beforeAll(async () => {
  cpSync(join(import.meta.dirname, "corpus"), folder, { recursive: true });
  fake = await startFakeOpenAI({ reply: extractiveReply, dims: 256 });
  p = await startTestPlatform({ config: { rag: { llmUrl: fake.baseURL, rerankUrl: fake.origin } } });
});
afterAll(async () => {
  await p?.close();
  await fake?.close();
  rmSync(folder, { recursive: true, force: true });
});

describe("keel rag, as a new user runs it", () => {
  it("creates a knowledge base, ingests a folder with progress, re-ingests only what changed", async () => {
    const created = await keel([
      "rag",
      "create",
      "handbook",
      "--owner-team",
      "risk",
      "--embedding",
      "fake-embed",
      "--generation",
      "fake-chat",
      "--max-tokens",
      "96",
      "--overlap",
      "16",
      "--url",
      p.url,
    ]);
    expect(created.err).toBe("");
    expect(created.out).toMatch(/knowledge base handbook created \(hybrid\)/);

    const first = await keel(["rag", "ingest", "handbook", folder, "--url", p.url]);
    expect(first.code).toBe(0);
    expect(first.err).toMatch(
      /ingest 7 documents into handbook — 7 added, 0 updated, 0 unchanged, 0 deleted/,
    );
    expect(first.out).toContain("  + policies/lending.md");
    expect(first.out).toMatch(/index: \d+ chunks, full text indexed, vectors exact/);

    writeFileSync(join(folder, "ops/holidays.txt"), "The contact centre is closed on public holidays.");
    rmSync(join(folder, "ops/cafeteria.html"));
    const second = await keel(["rag", "ingest", "handbook", folder, "--url", p.url]);
    expect(second.err).toMatch(/0 added, 1 updated, 5 unchanged, 1 deleted/);
    expect(second.out).toContain("  ~ ops/holidays.txt");
    expect(second.out).toContain("  - ops/cafeteria.html");

    const list = await keel(["rag", "list", "--url", p.url]);
    expect(list.out).toMatch(/handbook\s+risk\s+hybrid\s+fake-embed/);
  });

  it("answers with citations", async () => {
    const a = await keel([
      "rag",
      "ask",
      "handbook",
      "Is the contact centre open on public holidays?",
      "--url",
      p.url,
    ]);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/The contact centre is closed on public holidays\. \[1\]/);
    expect(a.out).toMatch(/\[1\] ops\/holidays\.txt \(ops\/holidays\.txt#0\)/);
  });

  it("evaluates two chunking settings into one experiment, compared in the runs table", async () => {
    await keel([
      "rag",
      "create",
      "handbook-small",
      "--owner-team",
      "risk",
      "--embedding",
      "fake-embed",
      "--generation",
      "fake-chat",
      "--max-tokens",
      "32",
      "--overlap",
      "4",
      "--url",
      p.url,
    ]);
    cpSync(join(import.meta.dirname, "corpus"), folder, { recursive: true });
    await keel(["rag", "ingest", "handbook", folder, "--url", p.url]);
    await keel(["rag", "ingest", "handbook-small", folder, "--url", p.url]);
    for (const kb of ["handbook", "handbook-small"]) {
      const r = await keel([
        "rag",
        "eval",
        kb,
        "--golden",
        golden,
        "--k",
        "3",
        "--answers",
        "--experiment",
        "chunking",
        "--url",
        p.url,
      ]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/recall_at_3\s+\d\.\d{4}/);
      expect(r.out).toMatch(/citation_precision\s+\d\.\d{4}/);
      expect(r.out).toMatch(/tracking run \w+/);
    }
    const runs = await keel(["runs", "list", "--experiment", "chunking", "--json", "--url", p.url]);
    const parsed = JSON.parse(runs.out) as Array<{
      data?: { params?: Array<{ key: string; value: string }> };
      params?: Record<string, string>;
    }>;
    expect(parsed).toHaveLength(2);
    expect(runs.out).toContain("chunking.max_tokens");
    const missing = await keel(["rag", "eval", "handbook", "--golden", "/no/such.jsonl", "--url", p.url]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read \/no\/such\.jsonl/);
  });
});
