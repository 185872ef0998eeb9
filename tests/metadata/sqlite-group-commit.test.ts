import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConditionFailedError, SqliteMetadataStore } from "@keel/metadata";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

/**
 * Writes made in the same turn of the event loop commit together (SqliteMetadataStore's group
 * commit). These check what that must not change: conditions still decide one writer, one
 * failed write does not undo the others, and a resolved write is already committed (visible
 * to another connection on the file).
 */
let dir: string;
let store: SqliteMetadataStore;
let other: SqliteMetadataStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "keel-group-commit-"));
  store = new SqliteMetadataStore({ path: join(dir, "metadata.sqlite") });
  other = new SqliteMetadataStore({ path: join(dir, "metadata.sqlite") });
});

afterEach(async () => {
  await store.close();
  await other.close();
  await rm(dir, { recursive: true, force: true });
});

describe("SQLite group commit", () => {
  it("lets exactly one of many same-turn conditional creates win, and keeps the others' own writes", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? store.put({ pk: "race", sk: "one", writer: i }, { condition: { exists: false } })
          : store.put({ pk: "mine", sk: String(i), writer: i }),
      ),
    );
    const creates = results.filter((_, i) => i % 2 === 0);
    expect(creates.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of creates.filter((r) => r.status === "rejected"))
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConditionFailedError);
    expect(results.filter((_, i) => i % 2 === 1).every((r) => r.status === "fulfilled")).toBe(true);
    expect((await other.get({ pk: "race", sk: "one" }))?.writer).toBe(0);
    expect(await other.queryAll({ pk: "mine" })).toHaveLength(20);
  });

  it("applies same-turn counter updates in order, none lost", async () => {
    const values = await Promise.all(
      Array.from({ length: 50 }, () => store.update({ pk: "c", sk: "n" }, { add: [["n", 1]] })),
    );
    expect(values.map((v) => v.n)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await other.get({ pk: "c", sk: "n" }))?.n).toBe(50);
  });

  it("resolves a write only once it is committed: another connection sees it at once", async () => {
    for (let i = 0; i < 20; i++) {
      const writes = [store.put({ pk: "seen", sk: `a${i}` }), store.put({ pk: "seen", sk: `b${i}` })];
      await writes[0];
      expect(await other.get({ pk: "seen", sk: `a${i}` })).toBeDefined();
      await writes[1];
    }
  });

  it("refuses a non-finite number in a write without failing the writes beside it", async () => {
    const [bad, good] = await Promise.allSettled([
      store.put({ pk: "n", sk: "bad", v: Number.NaN }),
      store.put({ pk: "n", sk: "good", v: null, w: 1 }),
    ]);
    expect(bad.status).toBe("rejected");
    expect((bad as PromiseRejectedResult).reason.message).toMatch(/cannot hold the number NaN/);
    expect(good.status).toBe("fulfilled");
    expect(await other.get({ pk: "n", sk: "good" })).toEqual({ pk: "n", sk: "good", v: null, w: 1 });
    expect(await other.get({ pk: "n", sk: "bad" })).toBeUndefined();
  });
});
