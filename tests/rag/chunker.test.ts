import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  chunkDocument,
  citeSentences,
  countTokens,
  htmlToText,
  sectionsOf,
  sentences,
  splitFrontMatter,
} from "@keel/rag";
import { describe, expect, it } from "vitest";

const corpus = join(import.meta.dirname, "corpus");

describe("structure-aware chunking", () => {
  it("keeps headings with their sections and never crosses a section", () => {
    const md = splitFrontMatter(readFileSync(join(corpus, "policies/lending.md"), "utf8")).body;
    const { title, chunks } = chunkDocument(md, "markdown", { maxTokens: 64, overlapTokens: 8 });
    expect(title).toBe("Lending policy");
    expect(chunks.map((c) => c.heading)).toEqual([
      "Lending policy > Loan approval",
      "Lending policy > Credit limits",
      "Lending policy > Collateral",
    ]);
    expect(chunks[0].text.startsWith("Lending policy > Loan approval\n\n")).toBe(true);
    expect(chunks[0].text).toContain("two signatures");
    expect(chunks[0].text).not.toContain("Credit limits of");
  });

  it("splits long sections by tokens with the overlap repeated, within the budget", () => {
    const long = Array.from({ length: 120 }, (_, i) => `word${i}`).join(" ");
    const { chunks } = chunkDocument(`# Title\n\n## Part\n\n${long}`, "markdown", {
      maxTokens: 48,
      overlapTokens: 8,
    });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.tokens).toBeLessThanOrEqual(48);
      expect(countTokens(c.text)).toBeLessThanOrEqual(48 + 2);
      expect(c.heading).toBe("Title > Part");
    }
    // The start of chunk n+1 repeats the end of chunk n.
    const tail = chunks[0].text.split(" ").slice(-2).join(" ");
    expect(chunks[1].text).toContain(tail);
    // Every word is in some chunk.
    const all = chunks.map((c) => c.text).join(" ");
    for (const i of [0, 57, 119]) expect(all).toContain(`word${i}`);
  });

  it("ignores # lines inside fenced code", () => {
    const { sections } = sectionsOf("# A\n\n```sh\n# not a heading\n```\ntext", "markdown");
    expect(sections).toEqual([{ heading: "A", text: "```sh\n# not a heading\n```\ntext" }]);
  });

  it("reads HTML headings as sections and drops scripts and styles", () => {
    const html = readFileSync(join(corpus, "ops/cafeteria.html"), "utf8");
    expect(htmlToText(html).title).toBe("Cafeteria");
    const { title, chunks } = chunkDocument(html, "html", { maxTokens: 128, overlapTokens: 0 });
    expect(title).toBe("Cafeteria");
    expect(chunks.map((c) => c.heading)).toEqual(["Cafeteria", "Cafeteria > Menu"]);
    expect(chunks[1].text).toContain("Soup of the day & bread");
    expect(chunks.map((c) => c.text).join(" ")).not.toMatch(/lunch menu secret|color: red/);
  });

  it("reads front matter as metadata", () => {
    const { meta, body } = splitFrontMatter(readFileSync(join(corpus, "board/merger.md"), "utf8"));
    expect(meta).toEqual({
      title: "Project Falcon",
      team: "board",
      classification: "restricted",
      tags: ["board"],
    });
    expect(body.startsWith("# Project Falcon")).toBe(true);
  });
});

describe("citations", () => {
  const chunk = (id: string, text: string) => ({
    id,
    doc: id.split("#")[0],
    source: id.split("#")[0],
    title: "t",
    heading: "",
    text,
    team: "x",
    classification: "public",
    tags: [],
    score: 1,
    scores: {},
    relevant: true,
  });
  const chunks = [
    chunk("a.md#0", "Loans need two signatures."),
    chunk("b.md#0", "The cafeteria opens at noon."),
  ];
  const refs = chunks.map((c, i) => ({
    n: i + 1,
    chunkId: c.id,
    doc: c.doc,
    source: c.source,
    title: "t",
    heading: "",
  }));

  it("maps sentences to the chunks their [n] markers name, ignoring unknown numbers", () => {
    const answer = "Loans need two signatures [1]. Lunch starts at noon [2][7]. Nothing here.";
    expect(sentences(answer).map((s) => s.text)).toEqual([
      "Loans need two signatures [1].",
      "Lunch starts at noon [2][7].",
      "Nothing here.",
    ]);
    const cites = citeSentences(answer, refs, chunks);
    expect(cites.map((c) => [c.sentence, c.sources.map((s) => s.chunkId)])).toEqual([
      ["Loans need two signatures [1].", ["a.md#0"]],
      ["Lunch starts at noon [2][7].", ["b.md#0"]],
    ]);
    expect(answer.slice(cites[1].start, cites[1].end)).toBe("Lunch starts at noon [2][7].");
  });

  it("falls back to word overlap for a sentence without markers", () => {
    const cites = citeSentences("The staff cafeteria opens at noon.", refs, chunks);
    expect(cites[0].sources.map((s) => s.chunkId)).toEqual(["b.md#0"]);
  });
});
