import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AccessScope, type ChunkRecord, LanceDbVectorStore, loadLanceDb, scopeSql } from "@keel/rag";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "keel-lance-scalar-"));
const store = new LanceDbVectorStore(dir, {}, 0);
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const chunk = (doc: string, ordinal: number, team: string, classification = "internal"): ChunkRecord => ({
  id: `${doc}#${ordinal}`,
  doc,
  ordinal,
  text: `secret ledger ${team} ${doc} entry ${ordinal}`,
  title: doc,
  heading: "",
  team,
  classification,
  tags: [],
  tokens: 6,
  vector: [1, (ordinal % 7) / 10, team === "red" ? 0.01 : 0.02, 0.5],
});
const docOf = (d: number, team: string, classification?: string) =>
  Array.from({ length: 4 }, (_, o) => chunk(`${team}-d${d}`, o, team, classification));

const scope: AccessScope = { teams: ["blue"], classifications: ["public"] };
/** Every chunk a blue caller can reach through vector and full-text search, with a k above the table size. */
async function reachable(): Promise<ChunkRecord[]> {
  const v = await store.vectorSearch("kb", [1, 0.3, 0.01, 0.5], { k: 500, scope });
  const t = await store.textSearch("kb", "secret ledger entry", { k: 500, scope });
  return [...v, ...t].map((h) => h.chunk as ChunkRecord);
}
const readable = (c: ChunkRecord) => c.team === "blue" || c.classification === "public";

describe("LanceDB scalar indexes on the access-scope columns", () => {
  it("builds bitmap indexes on team and classification and a B-tree on doc, and the scope prefilter reads them", async () => {
    for (let d = 0; d < 20; d++) {
      await store.replaceDocuments("kb", [`red-d${d}`], docOf(d, "red", d === 0 ? "public" : "internal"));
      await store.replaceDocuments("kb", [`blue-d${d}`], docOf(d, "blue"));
    }
    await store.updateIndexes("kb", { annMinRows: 1_000_000 });
    const lancedb = await loadLanceDb();
    const conn = await lancedb.connect(dir);
    const table = await conn.openTable("kb_kb");
    const types = Object.fromEntries((await table.listIndices()).map((i) => [i.columns[0], i.indexType]));
    expect(types).toMatchObject({ team: "Bitmap", classification: "Bitmap", doc: "BTree", text: "FTS" });

    const vectorPlan = await table
      .vectorSearch([1, 0, 0, 0])
      .where(scopeSql(scope) as string)
      .explainPlan();
    expect(vectorPlan).toMatch(/ScalarIndexQuery.*team_idx\(Bitmap\).*classification_idx\(Bitmap\)/);
    const textPlan = await table
      .query()
      .fullTextSearch("ledger", { columns: "text" })
      .where(scopeSql(scope) as string)
      .explainPlan();
    expect(textPlan).toMatch(/ScalarIndexQuery/);
    table.close();
    conn.close();

    const seen = await reachable();
    expect(seen.length).toBeGreaterThan(80); // 20 blue docs x 4 chunks (twice) + the public red one
    expect(seen.filter((c) => !readable(c))).toEqual([]);
    expect(seen.some((c) => c.doc === "red-d0")).toBe(true);
  });

  it("never returns another team's chunks from rows written after the index, or from documents moved to another team", async () => {
    // Unindexed rows (appended after the index was built) and a blue document handed to red.
    await store.replaceDocuments("kb", ["red-d99"], docOf(99, "red"));
    await store.replaceDocuments("kb", ["blue-d99"], docOf(99, "blue"));
    await store.replaceDocuments(
      "kb",
      ["blue-d3"],
      docOf(3, "red").map((c) => ({ ...c, doc: "blue-d3", id: c.id.replace("red", "blue") })),
    );
    // And the public red document made internal.
    await store.replaceDocuments("kb", ["red-d0"], docOf(0, "red", "internal"));
    for (const phase of ["before folding into the indexes", "after"]) {
      const seen = await reachable();
      expect(
        seen.filter((c) => !readable(c)),
        phase,
      ).toEqual([]);
      expect(
        seen.some((c) => c.doc === "blue-d99"),
        phase,
      ).toBe(true);
      expect(
        seen.some((c) => c.doc === "blue-d3" || c.doc === "red-d0"),
        phase,
      ).toBe(false);
      await store.updateIndexes("kb", { annMinRows: 1_000_000 });
    }
  });
});
