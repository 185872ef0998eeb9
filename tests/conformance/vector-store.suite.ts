import type { AccessScope, ChunkRecord, VectorStore } from "@keel/rag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ALL: AccessScope = { all: true };

/** A unit vector along axis `i` of `dims`, tilted a little toward axis `j`. */
function axis(i: number, dims = 8, j?: number, tilt = 0.2): number[] {
  const v = new Array<number>(dims).fill(0);
  v[i] = 1;
  if (j !== undefined) v[j] = tilt;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function chunk(doc: string, ordinal: number, text: string, over: Partial<ChunkRecord> = {}): ChunkRecord {
  return {
    id: `${doc}#${ordinal}`,
    doc,
    ordinal,
    text,
    title: doc,
    heading: "",
    team: "risk",
    classification: "internal",
    tags: [],
    tokens: text.split(" ").length,
    ...over,
  };
}

/**
 * The VectorStore contract (packages/rag/src/vector-store.ts), run against every adapter:
 * documents replace their chunks atomically, deletes leave the index, vector and full-text search
 * rank as expected, metadata filters and the access scope are applied inside the query (a caller
 * outside a document's team never sees it, whatever k), and indexes can be built and refreshed.
 */
export function vectorStoreSuite(
  name: string,
  make: () => Promise<{ store: VectorStore; close(): Promise<void> }>,
) {
  describe(`VectorStore conformance: ${name}`, () => {
    let store: VectorStore;
    let close: () => Promise<void>;
    const c = `suite_${Date.now().toString(36)}`;

    beforeAll(async () => {
      ({ store, close } = await make());
      await store.replaceDocuments(
        c,
        ["a.md", "b.md", "secret.md"],
        [
          chunk("a.md", 0, "loan approval requires two signatures", {
            vector: axis(0),
            tags: ["policy", "loans"],
          }),
          chunk("a.md", 1, "credit limits are reviewed yearly", {
            vector: axis(1),
            tags: ["policy", "loans"],
          }),
          chunk("b.md", 0, "the cafeteria opens at noon", {
            vector: axis(2),
            team: "ops",
            classification: "public",
          }),
          chunk("secret.md", 0, "merger plan loan approval codename falcon", {
            vector: axis(0, 8, 3, 0.1),
            team: "board",
            classification: "restricted",
          }),
        ],
      );
      await store.updateIndexes(c, { annMinRows: 1_000_000 });
    });
    afterAll(async () => {
      await store.dropCollection(c);
      await close();
    });

    it("ranks by cosine similarity and returns chunk ids with scores", async () => {
      const hits = await store.vectorSearch(c, axis(0, 8, 1, 0.1), { k: 2, scope: ALL });
      expect(hits.map((h) => h.chunk.id)).toEqual(["a.md#0", "secret.md#0"]);
      expect(hits[0].score).toBeGreaterThan(hits[1].score);
      expect(hits[0].score).toBeCloseTo(0.995, 2);
      expect(hits[0].chunk).toMatchObject({ doc: "a.md", tags: ["policy", "loans"], team: "risk" });
      expect(hits[0].chunk).not.toHaveProperty("vector");
    });

    it("ranks full text by BM25", async () => {
      const hits = await store.textSearch(c, "cafeteria noon", { k: 5, scope: ALL });
      expect(hits[0].chunk.id).toBe("b.md#0");
      expect(hits[0].score).toBeGreaterThan(0);
      expect(await store.textSearch(c, "zeppelin", { k: 5, scope: ALL })).toEqual([]);
    });

    it("applies the access scope inside the query: a caller outside the team never sees the document", async () => {
      const hostile: AccessScope = { teams: ["risk"], classifications: ["public"] };
      for (const k of [1, 3, 100]) {
        const v = await store.vectorSearch(c, axis(0, 8, 3, 0.1), { k, scope: hostile });
        const t = await store.textSearch(c, "merger falcon loan approval", { k, scope: hostile });
        expect([...v, ...t].map((h) => h.chunk.doc)).not.toContain("secret.md");
        // A prefilter: the top-k is filled with readable chunks, not cut short by the hidden one.
        expect(v.length).toBe(Math.min(k, 3));
      }
      const board: AccessScope = { teams: ["board"], classifications: [] };
      const v = await store.vectorSearch(c, axis(0), { k: 10, scope: board });
      expect(v.map((h) => h.chunk.id)).toEqual(["secret.md#0"]);
      expect(await store.count(c, { teams: [], classifications: [] })).toBe(0);
      expect(await store.count(c, hostile)).toBe(3);
    });

    it("treats quotes in scope values as data, not SQL", async () => {
      const injected: AccessScope = { teams: ["x') OR 1=1 OR ('"], classifications: ["' OR '1'='1"] };
      expect(await store.vectorSearch(c, axis(0), { k: 10, scope: injected })).toEqual([]);
      expect(await store.textSearch(c, "loan", { k: 10, scope: injected })).toEqual([]);
    });

    it("filters on metadata: team, classification, tags, document and URI prefix", async () => {
      const ids = async (filter: Parameters<VectorStore["vectorSearch"]>[2]["filter"]) =>
        (await store.vectorSearch(c, axis(0), { k: 10, scope: ALL, filter })).map((h) => h.chunk.id).sort();
      expect(await ids({ team: ["ops"] })).toEqual(["b.md#0"]);
      expect(await ids({ classification: ["internal", "restricted"] })).toEqual([
        "a.md#0",
        "a.md#1",
        "secret.md#0",
      ]);
      expect(await ids({ tags: ["loans"] })).toEqual(["a.md#0", "a.md#1"]);
      expect(await ids({ tags: ["loans", "nope"] })).toEqual([]);
      expect(await ids({ doc: ["b.md"] })).toEqual(["b.md#0"]);
      expect(await ids({ docPrefix: "secret" })).toEqual(["secret.md#0"]);
      const t = await store.textSearch(c, "loan approval", { k: 10, scope: ALL, filter: { team: ["risk"] } });
      expect(t.map((h) => h.chunk.id)).toEqual(["a.md#0"]);
    });

    it("replaces a document's chunks (fewer chunks leave none behind) and deletes documents", async () => {
      const col = `${c}_w`;
      await store.replaceDocuments(
        col,
        ["d.md"],
        [
          chunk("d.md", 0, "alpha one", { vector: axis(0) }),
          chunk("d.md", 1, "beta two", { vector: axis(1) }),
          chunk("d.md", 2, "gamma three", { vector: axis(2) }),
        ],
      );
      await store.replaceDocuments(col, ["e.md"], [chunk("e.md", 0, "delta four", { vector: axis(3) })]);
      expect(await store.count(col)).toBe(4);
      await store.replaceDocuments(col, ["d.md"], [chunk("d.md", 0, "alpha revised", { vector: axis(0) })]);
      expect(await store.count(col)).toBe(2);
      const t = await store.textSearch(col, "gamma", { k: 5, scope: ALL });
      expect(t).toEqual([]);
      const revised = await store.textSearch(col, "revised", { k: 5, scope: ALL });
      expect(revised.map((h) => h.chunk.text)).toEqual(["alpha revised"]);
      await store.deleteDocuments(col, ["e.md"]);
      expect(await store.count(col)).toBe(1);
      await store.replaceDocuments(col, ["d.md"], []);
      expect(await store.count(col)).toBe(0);
      await store.dropCollection(col);
      expect(await store.count(col)).toBe(0);
    });

    it("works without vectors (full text only)", async () => {
      const col = `${c}_fts`;
      await store.replaceDocuments(col, ["f.md"], [chunk("f.md", 0, "only words here")]);
      await store.updateIndexes(col, { annMinRows: 1 });
      expect(await store.vectorSearch(col, axis(0), { k: 3, scope: ALL })).toEqual([]);
      expect((await store.textSearch(col, "words", { k: 3, scope: ALL }))[0].chunk.id).toBe("f.md#0");
      await store.dropCollection(col);
    });

    it("builds an ANN index once large enough and still finds the nearest chunks", async () => {
      const col = `${c}_ann`;
      const dims = 16;
      const rows: ChunkRecord[] = [];
      for (let i = 0; i < 600; i++) {
        const v = Array.from(
          { length: dims },
          (_, d) => Math.sin(i * 0.37 + d * 1.3) + (d === i % dims ? 2 : 0),
        );
        const n = Math.hypot(...v);
        rows.push(chunk(`doc${i}.md`, 0, `row ${i}`, { vector: v.map((x) => x / n) }));
      }
      await store.replaceDocuments(
        col,
        rows.map((r) => r.doc),
        rows,
      );
      const state = await store.updateIndexes(col, { annMinRows: 500 });
      expect(state).toEqual({ rows: 600, vectorIndex: true, textIndex: true });
      const q = rows[123].vector as number[];
      const exact = await store.vectorSearch(col, q, { k: 10, scope: ALL, exact: true });
      const ann = await store.vectorSearch(col, q, { k: 10, scope: ALL });
      expect(exact[0].chunk.id).toBe("doc123.md#0");
      const overlap = ann.filter((h) => exact.some((e) => e.chunk.id === h.chunk.id)).length;
      expect(overlap).toBeGreaterThanOrEqual(8);
      // Rows written after the index are still found (refreshed by the next update).
      await store.replaceDocuments(
        col,
        ["late.md"],
        [chunk("late.md", 0, "late row", { vector: axis(5, dims) })],
      );
      await store.updateIndexes(col, { annMinRows: 500 });
      const late = await store.vectorSearch(col, axis(5, dims), { k: 1, scope: ALL });
      expect(late[0].chunk.id).toBe("late.md#0");
      await store.dropCollection(col);
    });
  });
}
