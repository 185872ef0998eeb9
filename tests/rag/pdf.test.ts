import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { definePipeline } from "@keel/pipelines";
import { extractPdfText, pdfDocument } from "@keel/rag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";
import { minimalPdf } from "./pdf-fixture";

const HANDBOOK = minimalPdf(
  [
    ["Lending policy", "Loans above one million need two signatures."],
    ["Branch hours", "# Saturday opening is from nine to one.", "Tellers rotate weekly."],
  ],
  "Branch Handbook",
);

describe("PDF text (pdf.js)", () => {
  it("reads each page's text and the document title", async () => {
    const pdf = await extractPdfText(HANDBOOK, "handbook.pdf");
    expect(pdf.title).toBe("Branch Handbook");
    expect(pdf.pages).toHaveLength(2);
    expect(pdf.pages[0]).toContain("Loans above one million need two signatures.");
    expect(pdf.pages[1]).toContain("Tellers rotate weekly.");
  });

  it("makes one section per page, so chunks carry their page", async () => {
    const doc = await pdfDocument("manuals/handbook.pdf", HANDBOOK);
    expect(doc).toMatchObject({
      uri: "manuals/handbook.pdf",
      title: "Branch Handbook",
      contentType: "markdown",
    });
    expect(doc.content).toMatch(/^## Page 1\n/);
    expect(doc.content).toContain("## Page 2");
    // A line of the PDF that looks like a heading cannot start a section of its own.
    expect(doc.content).toContain("\\# Saturday opening");
  });

  it("refuses a corrupt PDF with an error naming it", async () => {
    await expect(extractPdfText(Buffer.from("%PDF-1.4\nnot really a pdf\n%%EOF"), "bad.pdf")).rejects.toThrow(
      /bad\.pdf: not a readable PDF/,
    );
    await expect(extractPdfText(HANDBOOK.subarray(0, 200), "cut.pdf")).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
    });
  });
});

describe("PDF ingestion through the rag.ingest step", () => {
  let fake: FakeOpenAI;
  let p: Awaited<ReturnType<typeof startTestPlatform>>;
  const folder = mkdtempSync(join(tmpdir(), "keel-rag-pdf-"));

  beforeAll(async () => {
    mkdirSync(join(folder, "manuals"));
    writeFileSync(join(folder, "manuals/handbook.pdf"), HANDBOOK);
    writeFileSync(join(folder, "manuals/broken.pdf"), "%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage");
    writeFileSync(join(folder, "faq.md"), "# FAQ\n\nThe cafeteria closes at three.");
    fake = await startFakeOpenAI({ dims: 32 });
    p = await startTestPlatform({ config: { rag: { llmUrl: fake.baseURL } } });
    await p.call("POST", "/api/v1/rag/knowledge-bases", {
      name: "manuals",
      embedding: { model: "fake-embed" },
      ownerTeam: "risk",
    });
    await p.platform.services.pipelines.register(
      definePipeline({
        name: "refresh-manuals",
        params: z.object({}),
        steps: [
          { name: "ingest", kind: "builtin", uses: "rag.ingest", with: { kb: "manuals", path: folder } },
        ],
      }),
    );
  });
  afterAll(async () => {
    await p?.close();
    await fake?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it("ingests the readable files, reports the corrupt one, and cites pages", async () => {
    const { pipelines } = p.platform.services;
    const started = await pipelines.startRun("refresh-manuals", { noCache: true });
    await pipelines.waitForRun(started.runId);
    const run = await pipelines.getRun(started.runId);
    expect(run.run.status).toBe("SUCCEEDED");
    expect(run.steps[0].output).toMatchObject({ documents: 2, added: 2 });
    const failed = (run.steps[0].output as { failed: Array<{ uri: string; error: string }> }).failed;
    expect(failed).toEqual([
      { uri: "manuals/broken.pdf", error: expect.stringMatching(/not a readable PDF/) },
    ]);

    const r = await p.call("POST", "/api/v1/rag/manuals/retrieve", { query: "Tellers rotate weekly", k: 3 });
    expect(r.status).toBe(200);
    const top = r.json.chunks[0];
    expect(top).toMatchObject({ source: "manuals/handbook.pdf", title: "Branch Handbook" });
    expect(top.heading).toBe("Page 2");
    expect(top.text).toContain("Tellers rotate weekly.");
  });
});
