import { describe, expect, it } from "vitest";
import { ReadThroughCache } from "../../packages/llm/src/read-through-cache";

/**
 * The lookup cache of keys, teams and routes: refreshed ahead from half the TTL, served while
 * ONE background read refreshes it; past the stale limit callers wait; one read per key in flight;
 * a write of this process wins over a read in flight.
 */
function setup(opts: { maxStaleMs?: number } = {}) {
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
    { ttlMs: 2000, now: () => now, ...opts },
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

/** Past the timers and the check phase: a background read starts once the turn's work is done. */
const turn = () => new Promise((r) => setTimeout(() => setImmediate(r), 1));

/** 64 callers get the cached v1 at once while ONE (held) read goes out, which then lands. */
async function oneReadFor64Callers(s: ReturnType<typeof setup>): Promise<void> {
  s.hold(true);
  expect(await Promise.all(Array.from({ length: 64 }, () => s.cache.get("k")))).toEqual(Array(64).fill("v1"));
  await turn();
  expect(s.reads()).toBe(2);
  s.release();
  await turn();
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
    // Expired: 64 callers get the old value at once, and one read goes out.
    await oneReadFor64Callers(s);
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

  it("refreshes an entry in use from half its ttl, in the background, so no caller waits", async () => {
    const s = setup();
    await s.cache.get("k");
    s.set("v2");
    s.at(1500); // past half the ttl: answered at once, one read goes out
    await oneReadFor64Callers(s);
    s.hold(false);
    // The refreshed entry dates from its read (1500): still fresh at 2500, when the first would have expired.
    s.at(2500);
    expect(s.cache.peek("k")?.value).toBe("v2");
    expect(s.reads()).toBe(2);
  });

  it("never answers past the ttl with maxStaleMs = ttl, even while a refresh read begun earlier is slow", async () => {
    // Keys: a revocation elsewhere must bind within ttlMs. The refresh read below began at 1500,
    // before the change, so its (old) answer is dated 1500 and expires at 3500, not 2000 + its duration.
    const s = setup({ maxStaleMs: 2000 });
    await s.cache.get("k");
    s.at(1500);
    s.hold(true);
    expect(s.cache.peek("k")?.value).toBe("v1");
    await turn(); // the refresh read begins (at 1500) and is held
    s.set("revoked");
    s.at(2001); // past the ttl of the first read: nothing is answered at once
    expect(s.cache.peek("k")).toBeUndefined();
    s.release(); // the slow read answers with what it saw at 1500
    await turn();
    s.hold(false);
    s.at(3400);
    expect(s.cache.peek("k")?.value).toBe("v1"); // within 2000 of when its read began...
    s.at(3501);
    expect(s.cache.peek("k")).toBeUndefined(); // ...and not a moment past it
    expect(await s.cache.get("k")).toBe("revoked");
  });

  it("does not ask a failing store again on every request while it serves the entry it has", async () => {
    let now = 0;
    let reads = 0;
    let failing = false;
    const cache = new ReadThroughCache<string>(
      async () => {
        reads++;
        if (failing) throw new Error("ProvisionedThroughputExceededException");
        return "v1";
      },
      { ttlMs: 2000, now: () => now },
    );
    await cache.get("k");
    failing = true;
    now = 1500; // refresh ahead: one background read, which fails
    for (let i = 0; i < 100; i++) expect(cache.peek("k")?.value).toBe("v1");
    await turn();
    for (let i = 0; i < 100; i++) expect(cache.peek("k")?.value).toBe("v1");
    await turn();
    expect(reads).toBe(2); // the first read and one refresh, not 200
    now = 1500 + 500; // a quarter of the ttl later it tries again
    cache.peek("k");
    await turn();
    expect(reads).toBe(3);
    failing = false;
    now = 2100;
    cache.peek("k");
    await turn();
    expect(reads).toBe(3); // within the quarter after the last failure
    now = 2600;
    cache.peek("k");
    await turn();
    expect(reads).toBe(4);
    now = 2700;
    expect(cache.peek("k")?.value).toBe("v1"); // refreshed at 2600: fresh
    expect(reads).toBe(4);
  });
});
