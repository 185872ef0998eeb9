import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChunkRecord, LanceDbVectorStore, loadLanceDb } from "@keel/rag";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "keel-lance-scale-"));
const store = new LanceDbVectorStore(dir);
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const chunk = (doc: string, ordinal: number, text: string): ChunkRecord => ({
  id: `${doc}#${ordinal}`,
  doc,
  ordinal,
  text,
  title: doc,
  heading: "",
  team: "t",
  classification: "internal",
  tags: [],
  tokens: 3,
  vector: [ordinal % 2, 1, 0, 0.5],
});

describe("LanceDB at scale: what keeps large ingests and index builds moving", () => {
  it("gives Lance's CPU pool at least 4 threads (one thread deadlocks its BM25 and IVF builds)", async () => {
    await loadLanceDb();
    expect(Number(process.env.LANCE_CPU_THREADS)).toBeGreaterThanOrEqual(4);
  });

  it("appends new documents, compacts the small fragments before indexing, and still replaces changed ones", async () => {
    for (let b = 0; b < 20; b++)
      await store.replaceDocuments(
        "kb",
        [`d${b}`],
        [chunk(`d${b}`, 0, `batch ${b} alpha`), chunk(`d${b}`, 1, "beta")],
      );
    const lancedb = await loadLanceDb();
    const table = await (await lancedb.connect(dir)).openTable("kb_kb");
    expect((await table.stats()).fragmentStats.numFragments).toBe(20);

    const state = await store.updateIndexes("kb", { annMinRows: 1_000_000 });
    expect(state).toEqual({ rows: 40, vectorIndex: false, textIndex: true });
    await table.checkoutLatest();
    expect((await table.stats()).fragmentStats.numFragments).toBe(1);

    await store.replaceDocuments("kb", ["d3"], [chunk("d3", 0, "batch 3 rewritten")]);
    expect(await store.count("kb")).toBe(39);
    const hits = await store.textSearch("kb", "rewritten", { k: 5, scope: { all: true } });
    expect(hits.map((h) => h.chunk.id)).toEqual(["d3#0"]);
    table.close();
  });
});
