import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { definePipeline } from "@keel/pipelines";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

let fake: FakeOpenAI;
let p: Awaited<ReturnType<typeof startTestPlatform>>;
const folder = mkdtempSync(join(tmpdir(), "keel-rag-step-"));

beforeAll(async () => {
  cpSync(join(import.meta.dirname, "corpus"), folder, { recursive: true });
  fake = await startFakeOpenAI({ dims: 64 });
  p = await startTestPlatform({ config: { rag: { llmUrl: fake.baseURL } } });
  await p.call("POST", "/api/v1/rag/knowledge-bases", {
    name: "docs",
    embedding: { model: "fake-embed" },
    ownerTeam: "risk",
  });
  await p.platform.services.pipelines.register(
    definePipeline({
      name: "refresh-docs",
      params: z.object({}),
      steps: [{ name: "ingest", kind: "builtin", uses: "rag.ingest", with: { kb: "docs", path: folder } }],
    }),
  );
});
afterAll(async () => {
  await p?.close();
  await fake?.close();
  rmSync(folder, { recursive: true, force: true });
});

async function run() {
  const { pipelines } = p.platform.services;
  const started = await pipelines.startRun("refresh-docs", { noCache: true });
  await pipelines.waitForRun(started.runId);
  return pipelines.getRun(started.runId);
}

describe("the rag.ingest built-in pipeline step", () => {
  it("syncs a knowledge base with a folder, incrementally", async () => {
    const first = await run();
    expect(first.run.status).toBe("SUCCEEDED");
    expect(first.steps[0].output).toMatchObject({ kb: "docs", documents: 7, added: 7, unchanged: 0 });

    writeFileSync(join(folder, "ops/holidays.txt"), "Branches open on Saturdays from nine to one.");
    rmSync(join(folder, "ops/cafeteria.html"));
    const second = await run();
    expect(second.steps[0].output).toMatchObject({
      documents: 6,
      added: 0,
      updated: 1,
      unchanged: 5,
      deleted: 1,
    });
    const docs = await p.call("GET", "/api/v1/rag/docs/documents");
    expect(docs.json.documents.map((d: { uri: string }) => d.uri)).not.toContain("ops/cafeteria.html");
    // Front matter came through: the board's document kept its team and classification (and so
    // is not listed to the local user, who is not on the board).
    expect(docs.json.documents.map((d: { uri: string }) => d.uri)).not.toContain("board/merger.md");
    const merger = (await p.platform.services.rag.docs.list("docs")).find((d) => d.uri === "board/merger.md");
    expect(merger).toMatchObject({ team: "board", classification: "restricted", title: "Project Falcon" });
  });

  it("refuses a bad configuration when the pipeline is registered", async () => {
    await expect(
      p.platform.services.pipelines.register(
        definePipeline({
          name: "bad-ingest",
          params: z.object({}),
          steps: [{ name: "ingest", kind: "builtin", uses: "rag.ingest", with: { kb: "docs" } }],
        }),
      ),
    ).rejects.toThrow(/path, artifactPrefix/);
  });
});
