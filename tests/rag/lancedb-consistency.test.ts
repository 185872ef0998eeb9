import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChunkRecord, LanceDbVectorStore } from "@keel/rag";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "keel-lance-consistency-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const chunk = (doc: string, text: string): ChunkRecord => ({
  id: `${doc}#0`,
  doc,
  ordinal: 0,
  text,
  title: doc,
  heading: "",
  team: "t",
  classification: "public",
  tags: [],
  tokens: 2,
  vector: [1, 0, 0, 0],
});

describe("LanceDB across processes (two stores on one root)", () => {
  it("a reader sees another writer's commits once its consistency interval passes (0 = every read)", async () => {
    const writer = new LanceDbVectorStore(dir);
    const reader = new LanceDbVectorStore(dir, {}, 0);
    expect(await reader.count("kb")).toBe(0);
    await writer.replaceDocuments("kb", ["a"], [chunk("a", "first words")]);
    expect(await reader.count("kb")).toBe(1);
    // The reader now holds the table open; later commits still show.
    await writer.replaceDocuments("kb", ["b"], [chunk("b", "second words")]);
    await writer.updateIndexes("kb", { annMinRows: 1_000_000 });
    expect(await reader.count("kb")).toBe(2);
    const hits = await reader.textSearch("kb", "second", { k: 5, scope: { all: true } });
    expect(hits.map((h) => h.chunk.doc)).toEqual(["b"]);
    await writer.close();
    await reader.close();
  });
});
