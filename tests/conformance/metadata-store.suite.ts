import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Item, isConditionFailed, type MetadataStore } from "@keel/metadata";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DurableKind, openDurableStore, payloadFor } from "./metadata-store.durable";

/**
 * The MetadataStore contract (packages/metadata/src/port.ts), run against every adapter.
 * `durable` names an on-disk kind for the crash-safety test (a writer killed with SIGKILL).
 */
export function metadataStoreSuite(
  name: string,
  make: () => Promise<{ store: MetadataStore; close: () => Promise<void> }>,
  durable?: DurableKind,
) {
  describe(`MetadataStore conformance: ${name}`, () => {
    const withStore = async (fn: (s: MetadataStore) => Promise<void>) => {
      const { store, close } = await make();
      try {
        await fn(store);
      } finally {
        await close();
      }
    };

    it("puts, gets and deletes an item; absent items are undefined", () =>
      withStore(async (s) => {
        await s.put({ pk: "a", sk: "1", n: 1, m: { x: "y" }, l: [1, 2] });
        expect(await s.get({ pk: "a", sk: "1" })).toEqual({
          pk: "a",
          sk: "1",
          n: 1,
          m: { x: "y" },
          l: [1, 2],
        });
        expect(await s.get({ pk: "a", sk: "2" })).toBeUndefined();
        await s.delete({ pk: "a", sk: "1" });
        expect(await s.get({ pk: "a", sk: "1" })).toBeUndefined();
        await s.delete({ pk: "a", sk: "nope" });
      }));

    it("conditional put: not-exists holds once, fails after, and changes nothing", () =>
      withStore(async (s) => {
        await s.put({ pk: "c", sk: "1", v: 1 }, { condition: { exists: false } });
        await expect(s.put({ pk: "c", sk: "1", v: 2 }, { condition: { exists: false } })).rejects.toSatisfy(
          isConditionFailed,
        );
        expect((await s.get({ pk: "c", sk: "1" }))?.v).toBe(1);
      }));

    it("updates nested map entries with conditions and returns the new item", () =>
      withStore(async (s) => {
        await s.put({ pk: "u", sk: "1", params: {}, ver: 0 });
        const it1 = await s.update(
          { pk: "u", sk: "1" },
          { set: [[["params", "lr"], "0.1"]], add: [["ver", 1]] },
          { condition: { path: ["params", "lr"], exists: false } },
        );
        expect(it1.params).toEqual({ lr: "0.1" });
        expect(it1.ver).toBe(1);
        await expect(
          s.update(
            { pk: "u", sk: "1" },
            { set: [[["params", "lr"], "0.2"]] },
            { condition: { path: ["params", "lr"], exists: false } },
          ),
        ).rejects.toSatisfy(isConditionFailed);
        const it2 = await s.update(
          { pk: "u", sk: "1" },
          { remove: [["params", "lr"]], append: [["hist", [1, 2]]] },
        );
        expect(it2.params).toEqual({});
        expect(it2.hist).toEqual([1, 2]);
        await expect(
          s.update({ pk: "u", sk: "2" }, { set: [["x", 1]] }, { condition: { exists: true } }),
        ).rejects.toSatisfy(isConditionFailed);
        expect(await s.get({ pk: "u", sk: "2" })).toBeUndefined();
      }));

    it("queries in sort order with prefix, ranges, direction and pagination", () =>
      withStore(async (s) => {
        const items = Array.from({ length: 60 }, (_, i) => ({
          pk: "q",
          sk: `k#${String(i).padStart(3, "0")}`,
          i,
          gsi1pk: i % 2 ? "odd" : "even",
          gsi1sk: String(1000 - i),
        }));
        await s.batchPut(items);
        await s.put({ pk: "q", sk: "other" });
        const all = await s.queryAll({ pk: "q", prefix: "k#" });
        expect(all.map((x) => x.i)).toEqual(items.map((x) => x.i));
        const seen: number[] = [];
        let cursor: string | undefined;
        do {
          const p = await s.query({ pk: "q", prefix: "k#", limit: 7, cursor, descending: true });
          seen.push(...p.items.map((x) => x.i as number));
          cursor = p.cursor;
        } while (cursor);
        expect(seen).toEqual([...items].reverse().map((x) => x.i));
        const range = await s.queryAll({ pk: "q", between: ["k#010", "k#012"] });
        expect(range.map((x) => x.i)).toEqual([10, 11, 12]);
        const after = await s.queryAll({ pk: "q", after: "k#057", prefix: undefined });
        expect(after.map((x) => x.sk)).toEqual(["k#058", "k#059", "other"]);
        const odd = await s.queryAll({ pk: "odd", index: "gsi1" });
        expect(odd.map((x) => x.i)).toEqual(
          items
            .filter((x) => x.i % 2)
            .map((x) => x.i)
            .reverse(),
        );
        const filtered = await s.queryAll({ pk: "q", prefix: "k#", filter: { path: "i", ge: 55 } });
        expect(filtered.map((x) => x.i)).toEqual([55, 56, 57, 58, 59]);
      }));

    it("rejects a malformed page token with INVALID_PARAMETER_VALUE", () =>
      withStore(async (s) => {
        await expect(s.query({ pk: "q", cursor: "garbage!" })).rejects.toMatchObject({
          code: "INVALID_PARAMETER_VALUE",
        });
      }));

    it("refuses key values over DynamoDB's limits (2048 / 1024 bytes) with INVALID_PARAMETER_VALUE", () =>
      withStore(async (s) => {
        const long = `run#${"é".repeat(1100)}`; // 2204 bytes in UTF-8
        const refused = { code: "INVALID_PARAMETER_VALUE", message: expect.stringContaining("too long") };
        await expect(s.get({ pk: long, sk: "x" })).rejects.toMatchObject(refused);
        await expect(s.put({ pk: long, sk: "x" })).rejects.toMatchObject(refused);
        await expect(s.put({ pk: "ok", sk: "x".repeat(1025) })).rejects.toMatchObject(refused);
        await expect(s.put({ pk: "ok", sk: "x", gsi1pk: long, gsi1sk: "y" })).rejects.toMatchObject(refused);
        await expect(s.update({ pk: long, sk: "x" }, { set: [["v", 1]] })).rejects.toMatchObject(refused);
        await expect(s.delete({ pk: long, sk: "x" })).rejects.toMatchObject(refused);
        await expect(s.query({ pk: long })).rejects.toMatchObject(refused);
        await expect(s.batchGet([{ pk: long, sk: "x" }])).rejects.toMatchObject(refused);
        await s.put({ pk: "p".repeat(2048), sk: "s".repeat(1024) });
        expect(await s.get({ pk: "p".repeat(2048), sk: "s".repeat(1024) })).toBeDefined();
      }));

    it("batchGet returns present items and omits absent ones; batchDelete removes", () =>
      withStore(async (s) => {
        await s.batchPut(Array.from({ length: 130 }, (_, i) => ({ pk: "b", sk: String(i), i })));
        const got = await s.batchGet([
          ...Array.from({ length: 130 }, (_, i) => ({ pk: "b", sk: String(i) })),
          { pk: "b", sk: "x" },
        ]);
        expect(got.map((x) => x.i).sort((a, b) => (a as number) - (b as number))).toEqual(
          Array.from({ length: 130 }, (_, i) => i),
        );
        await s.batchDelete(Array.from({ length: 130 }, (_, i) => ({ pk: "b", sk: String(i) })));
        expect(await s.queryAll({ pk: "b" })).toEqual([]);
      }));

    it("increment is atomic under concurrency: 50 callers get 1..50", () =>
      withStore(async (s) => {
        const got = await Promise.all(
          Array.from({ length: 50 }, () => s.increment({ pk: "ctr", sk: "c" }, "n")),
        );
        expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      }));

    it("conditional put is a mutex: of N concurrent claimers of one key exactly one wins", () =>
      withStore(async (s) => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 2, max: 12 }),
            fc.string({ minLength: 1, maxLength: 8 }),
            async (n, key) => {
              const results = await Promise.allSettled(
                Array.from({ length: n }, (_, i) =>
                  s.put({ pk: "claim", sk: `${key}`, who: i }, { condition: { exists: false } }),
                ),
              );
              await s.delete({ pk: "claim", sk: key });
              return results.filter((r) => r.status === "fulfilled").length === 1;
            },
          ),
          { numRuns: 15 },
        );
      }));

    it("refuses NaN and Infinity and writes nothing", () =>
      withStore(async (s) => {
        await expect(s.put({ pk: "nan", sk: "1", v: Number.NaN })).rejects.toThrow();
        await expect(s.put({ pk: "nan", sk: "2", m: { v: Number.POSITIVE_INFINITY } })).rejects.toThrow();
        expect(await s.queryAll({ pk: "nan" })).toEqual([]);
      }));

    it("concurrent writers lose nothing: map entries, list appends, counters and items", () =>
      withStore(async (s) => {
        await s.put({ pk: "cw", sk: "hot", m: {} });
        const writers = 16;
        const each = 15;
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let j = 0; j < each; j++) {
              await s.update(
                { pk: "cw", sk: "hot" },
                { set: [[["m", `w${w}_${j}`], j]], append: [["log", [`${w}:${j}`]]], add: [["n", 1]] },
              );
              await s.put({ pk: "cw", sk: `item#${w}#${j}`, w, j });
            }
          }),
        );
        const hot = await s.get({ pk: "cw", sk: "hot" });
        expect(hot?.n).toBe(writers * each);
        expect(Object.keys(hot?.m as object)).toHaveLength(writers * each);
        expect(new Set(hot?.log as string[]).size).toBe(writers * each);
        expect(await s.queryAll({ pk: "cw", prefix: "item#" })).toHaveLength(writers * each);
      }));

    it("pages through a GSI in both directions, with ties on its sort key, a prefix and a filter", () =>
      withStore(async (s) => {
        const items = Array.from({ length: 45 }, (_, i) => ({
          pk: `p${i % 5}`,
          sk: `s${String(i).padStart(2, "0")}`,
          i,
          gsi2pk: "idx",
          gsi2sk: `g#${String(Math.floor(i / 3)).padStart(2, "0")}`,
        }));
        await s.batchPut([...items, { pk: "p0", sk: "no-index", gsi2pk: "idx" }]);
        const byIndex = (xs: Item[]) => xs.map((x) => `${x.gsi2sk}|${x.pk}|${x.sk}`);
        const expected = byIndex(items).sort();
        for (const descending of [false, true]) {
          const seen: Item[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const p = await s.query({ pk: "idx", index: "gsi2", limit: 4, cursor, descending });
            expect(p.items.length).toBeLessThanOrEqual(4);
            seen.push(...p.items);
            cursor = p.cursor;
            pages++;
          } while (cursor);
          expect(pages).toBeGreaterThanOrEqual(12);
          const keys = seen.map((x) => x.gsi2sk as string);
          expect(keys).toEqual(
            [...keys].sort((a, b) => (descending ? b.localeCompare(a) : a.localeCompare(b))),
          );
          expect(byIndex(seen).sort()).toEqual(expected);
        }
        const prefixed = await s.queryAll({ pk: "idx", index: "gsi2", prefix: "g#1" });
        expect(prefixed.map((x) => x.i).sort((a, b) => (a as number) - (b as number))).toEqual(
          Array.from({ length: 15 }, (_, k) => k + 30),
        );
        const filtered: Item[] = [];
        let cursor: string | undefined;
        do {
          const p = await s.query({
            pk: "idx",
            index: "gsi2",
            limit: 5,
            cursor,
            filter: { path: "pk", eq: "p1" },
          });
          filtered.push(...p.items);
          cursor = p.cursor;
        } while (cursor);
        expect(filtered.map((x) => x.i)).toEqual(items.filter((x) => x.pk === "p1").map((x) => x.i));
        expect(await s.queryAll({ pk: "missing", index: "gsi2" })).toEqual([]);
      }));

    if (durable) {
      it("a writer killed with SIGKILL loses no acknowledged write and leaves no torn item", async () => {
        const dir = await mkdtemp(join(tmpdir(), `keel-crash-${durable}-`));
        try {
          const acked = await writeUntilKilled(durable, dir, 300);
          const { store, close } = await openDurableStore(durable, dir);
          try {
            const items = (await store.queryAll({ pk: "crash" })).filter((x) => x.sk !== "list");
            const present = new Map(items.map((x) => [x.i as number, x]));
            for (let i = 0; i <= acked; i++) {
              expect(present.get(i)?.payload, `acknowledged write ${i}`).toBe(payloadFor(i));
            }
            for (const x of items) expect(x.payload).toBe(payloadFor(x.i as number));
            const list = await store.get({ pk: "crash", sk: "list" });
            const entries = list?.entries as number[];
            expect(entries.length).toBe(list?.count);
            expect(entries.length).toBeGreaterThanOrEqual(acked + 1);
            expect(entries).toEqual(Array.from({ length: entries.length }, (_, k) => k));
          } finally {
            await close();
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }, 120_000);
    }
  });
}

const WRITER = fileURLToPath(new URL("./metadata-store.crash-writer.ts", import.meta.url));

/** Runs the crash writer until it has acknowledged `atLeast` writes, kills it, returns the last acknowledged index. */
function writeUntilKilled(kind: DurableKind, dir: string, atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WRITER, kind, dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let last = -1;
    let buffered = "";
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.stdout.on("data", (d) => {
      buffered += d;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("ack ")) last = Number(line.slice(4));
      if (last >= atLeast && !child.killed) child.kill("SIGKILL");
    });
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(last);
      else reject(new Error(`crash writer exited early (${code}): ${stderr}`));
    });
  });
}
