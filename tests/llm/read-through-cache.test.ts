import { describe, expect, it } from "vitest";
import { ReadThroughCache } from "../../packages/llm/src/read-through-cache";

/**
 * The lookup cache of keys, teams and routes: fresh for the TTL, then served while ONE
 * background read refreshes it; past the stale limit callers wait; one read per key in flight;
 * a write of this process wins over a read in flight.
 */
function setup() {
  let now = 0;
  let value = "v1";
  let reads = 0;
  let release: (() => void) | undefined;
  let hold = false;
  const cache = new ReadThroughCache<string>(
    async () => {
      reads++;
      const seen = value;
      if (hold) await new Promise<void>((r) => (release = r));
      return seen;
    },
    { ttlMs: 2000, now: () => now },
  );
  return {
    cache,
    at: (ms: number) => (now = ms),
    set: (v: string) => (value = v),
    reads: () => reads,
    hold: (h: boolean) => (hold = h),
    release: () => release?.(),
  };
}

describe("ReadThroughCache", () => {
  it("reads once for many callers, serves stale while one refresh runs, then the new value", async () => {
    const s = setup();
    expect(await Promise.all(Array.from({ length: 64 }, () => s.cache.get("k")))).toEqual(
      Array(64).fill("v1"),
    );
    expect(s.reads()).toBe(1);
    s.set("v2");
    s.at(1000);
    expect(await s.cache.get("k")).toBe("v1"); // fresh
    expect(s.reads()).toBe(1);
    s.at(2500);
    s.hold(true);
    // Expired: 64 callers get the old value at once, and one read goes out.
    expect(await Promise.all(Array.from({ length: 64 }, () => s.cache.get("k")))).toEqual(
      Array(64).fill("v1"),
    );
    expect(s.reads()).toBe(2);
    s.release();
    await new Promise((r) => setTimeout(r, 0));
    expect(await s.cache.get("k")).toBe("v2");
    expect(s.reads()).toBe(2);
  });

  it("makes callers wait past the stale limit, and keeps this process's own write over a read in flight", async () => {
    const s = setup();
    await s.cache.get("k");
    s.set("v2");
    s.at(20_000); // past 5 x TTL: the caller waits for the read
    expect(await s.cache.get("k")).toBe("v2");
    s.set("v3");
    s.at(40_000);
    s.hold(true);
    const waiting = s.cache.get("k");
    s.cache.set("k", "mine");
    s.release();
    expect(await waiting).toBe("v3"); // the read answers its caller...
    expect(await s.cache.get("k")).toBe("mine"); // ...but is not cached over the write
  });
});
