import { encodeEntityKey, type OnlineStore, type OnlineWrite } from "@keel/features";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const T0 = Date.UTC(2026, 0, 1);
const NOW = T0 + 10 * 86_400_000;
let seq = 0;
/** A view name no other test uses, so tests share one store without seeing each other. */
const freshView = (ttlSeconds = 0) => ({
  name: `v${++seq}_${Math.random().toString(36).slice(2, 8)}`,
  ttlSeconds,
});
const key = (...v: Array<string | number>) => encodeEntityKey(v);
const row = (k: string, eventTs: number, values: OnlineWrite["values"], createdTs = 0): OnlineWrite => ({
  entityKey: k,
  eventTs,
  createdTs,
  values,
});

/** The OnlineStore contract (packages/features/src/online/port.ts), run against every adapter. */
export function onlineStoreSuite(
  name: string,
  make: () => Promise<{ store: OnlineStore; close: () => Promise<void> }>,
) {
  describe(`OnlineStore conformance: ${name}`, () => {
    let store: OnlineStore;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ store, close } = await make());
      await store.ensureSchema();
    });
    afterAll(async () => {
      await close?.();
    });

    it("prepares its schema idempotently (again, after beforeAll did)", async () => {
      await store.ensureSchema();
      await store.ensureSchema();
    });

    it("reads back what was written, in request order, undefined where absent", async () => {
      const v = freshView();
      const r = await store.write(
        v,
        [row(key(1), T0, { a: 1, b: "x" }), row(key(2), T0 + 1000, { a: 2.5, b: null }, T0 + 5)],
        NOW,
      );
      expect(r).toEqual({ written: 2, skipped: 0 });
      const got = await store.read(v.name, [key(2), key(3), key(1), key(2)]);
      expect(got).toEqual([
        { eventTs: T0 + 1000, createdTs: T0 + 5, values: { a: 2.5, b: null } },
        undefined,
        { eventTs: T0, createdTs: 0, values: { a: 1, b: "x" } },
        { eventTs: T0 + 1000, createdTs: T0 + 5, values: { a: 2.5, b: null } },
      ]);
    });

    it("keeps every value type the feature store uses", async () => {
      const v = freshView();
      const values = {
        i: -42,
        f: 0.125,
        s: 'é ünïcode "quoted"',
        t: true,
        n: null,
        ts: "2026-01-01T00:00:00.000Z",
      };
      await store.write(v, [row(key("a|b", "c"), T0, values)], NOW);
      expect((await store.read(v.name, [key("a|b", "c")]))[0]?.values).toEqual(values);
      expect(await store.read(v.name, [key("a", "b|c")])).toEqual([undefined]);
    });

    it("never replaces a newer event with an older one (late and replayed writes lose)", async () => {
      const v = freshView();
      await store.write(v, [row(key(7), T0 + 5000, { a: "new" })], NOW);
      await store.write(v, [row(key(7), T0 + 1000, { a: "old" })], NOW);
      await store.write(v, [row(key(7), T0 + 5000, { a: "new" })], NOW);
      expect((await store.read(v.name, [key(7)]))[0]).toMatchObject({
        eventTs: T0 + 5000,
        values: { a: "new" },
      });
    });

    it("within one call, the latest row per entity wins whatever the order", async () => {
      const v = freshView();
      const r = await store.write(
        v,
        [
          row(key(1), T0 + 3000, { a: 3 }),
          row(key(1), T0 + 9000, { a: 9 }),
          row(key(1), T0 + 1000, { a: 1 }),
        ],
        NOW,
      );
      expect(r).toEqual({ written: 1, skipped: 2 });
      expect((await store.read(v.name, [key(1)]))[0]?.values).toEqual({ a: 9 });
    });

    it("converges to the latest event per entity under any order and batching (property)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(
            fc.record({ k: fc.integer({ min: 0, max: 4 }), t: fc.integer({ min: 0, max: 10_000 }) }),
            {
              minLength: 1,
              maxLength: 30,
              selector: (x) => x.t,
            },
          ),
          fc.integer({ min: 1, max: 7 }),
          async (events, batch) => {
            const v = freshView();
            for (let i = 0; i < events.length; i += batch) {
              const part = events.slice(i, i + batch).map((e) => row(key(e.k), T0 + e.t * 1000, { t: e.t }));
              await store.write(v, part, NOW);
            }
            const keys = [0, 1, 2, 3, 4];
            const got = await store.read(
              v.name,
              keys.map((k) => key(k)),
            );
            keys.forEach((k, i) => {
              const mine = events.filter((e) => e.k === k);
              const want = mine.length ? Math.max(...mine.map((e) => e.t)) : undefined;
              expect(got[i]?.values.t).toBe(want);
            });
          },
        ),
        { numRuns: 15 },
      );
    });

    it("keeps views apart for the same entity key", async () => {
      const v1 = freshView();
      const v2 = freshView();
      await store.write(v1, [row(key(1), T0, { a: "one" })], NOW);
      await store.write(v2, [row(key(1), T0, { a: "two" })], NOW);
      expect((await store.read(v1.name, [key(1)]))[0]?.values).toEqual({ a: "one" });
      expect((await store.read(v2.name, [key(1)]))[0]?.values).toEqual({ a: "two" });
    });

    it("skips rows already past the view's ttl and keeps fresh ones", async () => {
      const v = freshView(3600);
      const r = await store.write(
        v,
        [row(key(1), NOW - 7200_000, { a: 1 }), row(key(2), NOW - 60_000, { a: 2 })],
        NOW,
      );
      expect(r).toEqual({ written: 1, skipped: 1 });
      const got = await store.read(v.name, [key(1), key(2)]);
      expect(got[0]).toBeUndefined();
      expect(got[1]?.values).toEqual({ a: 2 });
    });

    it("reads hundreds of entities in one call", async () => {
      const v = freshView();
      const keys = Array.from({ length: 250 }, (_, i) => key(`e${i}`));
      await store.write(
        v,
        keys.map((k, i) => row(k, T0 + i, { i })),
        NOW,
      );
      const got = await store.read(v.name, [...keys].reverse());
      expect(got.map((g) => g?.values.i)).toEqual(keys.map((_, i) => 249 - i));
    });
  });
}
