import { loadConfig } from "@keel/core";
import {
  CachedOnlineStore,
  createOnlineStore,
  DynamoDbOnlineStore,
  type OnlineRecord,
  type OnlineStore,
  type OnlineWrite,
} from "@keel/features";
import { startDynalite } from "@keel/metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const view = { name: "stats", ttlSeconds: 0 };
const row = (entityKey: string, eventTs: number): OnlineWrite => ({
  entityKey,
  eventTs,
  createdTs: 0,
  values: { n: eventTs },
});

/** An in-memory store whose reads can be held back, to force a read to straddle a write. */
class GatedStore implements OnlineStore {
  readonly data = new Map<string, OnlineRecord>();
  reads = 0;
  gate?: Promise<void>;
  async ensureSchema() {}
  async close() {}
  async write(_v: unknown, rows: OnlineWrite[]) {
    for (const r of rows) this.data.set(r.entityKey, { eventTs: r.eventTs, createdTs: 0, values: r.values });
    return { written: rows.length, skipped: 0 };
  }
  async read(_v: string, keys: string[]) {
    this.reads++;
    const seen = keys.map((k) => this.data.get(k)); // read before the gate: the value of that moment
    await this.gate;
    return seen;
  }
}

describe("online read-through cache", () => {
  it("serves repeated reads from memory and drops what a write touches", async () => {
    const inner = new GatedStore();
    const cache = new CachedOnlineStore(inner);
    await cache.write(view, [row("a", 1)], 0);
    expect((await cache.read("stats", ["a", "b"])).map((r) => r?.eventTs)).toEqual([1, undefined]);
    expect((await cache.read("stats", ["a", "b"])).map((r) => r?.eventTs)).toEqual([1, undefined]);
    expect(inner.reads).toBe(1);
    await cache.write(view, [row("b", 2)], 0);
    expect((await cache.read("stats", ["a", "b"])).map((r) => r?.eventTs)).toEqual([1, 2]);
    expect(inner.reads).toBe(2);
  });

  it("never caches the value a concurrent write replaced", async () => {
    const inner = new GatedStore();
    const cache = new CachedOnlineStore(inner);
    await cache.write(view, [row("a", 1)], 0);
    let open = () => {};
    inner.gate = new Promise<void>((r) => {
      open = r;
    });
    const stale = cache.read("stats", ["a"]); // reads ts 1, then waits
    await cache.write(view, [row("a", 2)], 0); // lands while that read is in flight
    open();
    expect((await stale)[0]?.eventTs).toBe(1);
    inner.gate = undefined;
    expect((await cache.read("stats", ["a"]))[0]?.eventTs).toBe(2);
  });

  it("stays within its bound, evicting the least recently used", async () => {
    const inner = new GatedStore();
    const cache = new CachedOnlineStore(inner, 3);
    for (const k of ["a", "b", "c"]) await cache.read("stats", [k]);
    await cache.read("stats", ["a"]); // a is now the most recent
    await cache.read("stats", ["d"]); // evicts b
    expect(cache.size).toBe(3);
    const before = inner.reads;
    await cache.read("stats", ["a", "c", "d"]);
    expect(inner.reads).toBe(before);
    await cache.read("stats", ["b"]);
    expect(inner.reads).toBe(before + 1);
  });

  it("is used by keel dev's DynamoDB (stage local, local endpoint) and nowhere else", () => {
    const local = loadConfig({}, { core: { dynamodbEndpoint: "http://127.0.0.1:1" } });
    expect(createOnlineStore(local)).toBeInstanceOf(CachedOnlineStore);
    const aws = loadConfig({ KEEL_STAGE: "prod" }, { core: { dynamodbEndpoint: "http://127.0.0.1:1" } });
    expect(createOnlineStore(aws)).toBeInstanceOf(DynamoDbOnlineStore);
    expect(createOnlineStore(loadConfig({ KEEL_STAGE: "prod" }))).toBeInstanceOf(DynamoDbOnlineStore);
  });

  describe("on dynalite, pushes interleaved with reads", () => {
    let server: Awaited<ReturnType<typeof startDynalite>>;
    let cache: CachedOnlineStore;
    beforeAll(async () => {
      server = await startDynalite();
      cache = new CachedOnlineStore(
        new DynamoDbOnlineStore({ table: "cache-online", endpoint: server.endpoint, manageTable: true }),
      );
      await cache.ensureSchema();
    });
    afterAll(async () => {
      await cache.close();
      await server.close();
    });

    it("every read after a write returns it or newer, and the last write wins", async () => {
      const keys = ["k0", "k1", "k2"];
      const acked = new Map<string, number>(keys.map((k) => [k, 0]));
      const violations: string[] = [];
      let writing = true;
      const writer = async (k: string) => {
        for (let ts = 1; ts <= 40; ts++) {
          await cache.write(view, [row(k, ts)], 0);
          acked.set(k, ts);
        }
      };
      const reader = async () => {
        while (writing) {
          const floor = keys.map((k) => acked.get(k) ?? 0);
          const got = await cache.read("stats", keys);
          got.forEach((r, i) => {
            if ((r?.eventTs ?? 0) < floor[i])
              violations.push(`${keys[i]}: read ${r?.eventTs} after ${floor[i]}`);
          });
          await new Promise((r) => setImmediate(r)); // cached reads never leave the microtask queue
        }
      };
      const readers = Array.from({ length: 4 }, reader);
      await Promise.all(keys.map(writer));
      writing = false;
      await Promise.all(readers);
      expect(violations).toEqual([]);
      expect((await cache.read("stats", keys)).map((r) => r?.eventTs)).toEqual([40, 40, 40]);
      expect(cache.size).toBe(3);
    });
  });
});
