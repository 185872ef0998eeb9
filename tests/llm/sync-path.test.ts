import { StoreAuditLog } from "@keel/audit";
import { type LlmError, periodOf, RateLimiter, Teams } from "@keel/llm";
import type { MetadataStore } from "@keel/metadata";
import { describe, expect, it } from "vitest";
import { ReadThroughCache } from "../../packages/llm/src/read-through-cache";
import { freshStoreForFile } from "../helpers/metadata";

/**
 * The request path stays synchronous on cache hits (no promise per lookup): cached keys, teams
 * and routes are answered at once, a lease with units admits at once, and only a store read
 * returns a promise. The decisions are the same as the asynchronous calls'.
 */
let store: MetadataStore;
const now = 5_000_000;
const clock = { now: () => now };
freshStoreForFile((s) => {
  store = s;
});

describe("ReadThroughCache.peek", () => {
  it("answers fresh and stale entries at once (one refresh), and nothing before a read or past the stale limit", async () => {
    let t = 0;
    let reads = 0;
    let value = "v1";
    const cache = new ReadThroughCache<string>(
      async () => {
        reads++;
        return value;
      },
      { ttlMs: 1000, now: () => t, maxStaleMs: 3000 },
    );
    expect(cache.peek("k")).toBeUndefined();
    expect(reads).toBe(0); // peek never reads on a miss: the caller awaits get
    expect(await cache.get("k")).toBe("v1");
    expect(cache.peek("k")?.value).toBe("v1");
    value = "v2";
    t = 1500; // stale: answered at once, one background refresh
    expect(cache.peek("k")?.value).toBe("v1");
    expect(cache.peek("k")?.value).toBe("v1");
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(2);
    expect(cache.peek("k")?.value).toBe("v2");
    t = 1500 + 3001; // past the stale limit: the caller must wait for a read
    expect(cache.peek("k")).toBeUndefined();
  });
});

describe("RateLimiter.admitNow", () => {
  it("draws a lease once, then admits synchronously, and never admits past the limit", async () => {
    const limiter = new RateLimiter(store, clock);
    const draw = { id: "sync:rpm", kind: "requests" as const, limit: 20, cost: 1 };
    const first = limiter.admitNow([draw]);
    expect(first).toBeInstanceOf(Promise); // the first draw reads the shared bucket
    await first;
    let admitted = 1;
    let atOnce = 0;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      try {
        const r = limiter.admitNow([draw]);
        if (r instanceof Promise) await r;
        else {
          atOnce++; // from this process's lease, no promise
          expect(r[0].remaining).toBeGreaterThanOrEqual(0);
        }
        admitted++;
      } catch (e) {
        expect((e as LlmError).openaiCode).toBe("rate_limit_exceeded");
        refused++;
      }
    }
    expect(admitted).toBe(20);
    expect(refused).toBe(21);
    expect(atOnce).toBeGreaterThan(5); // leases grow with the traffic: most admissions are synchronous
    await limiter.stop();
  });
});

describe("Teams on the synchronous path", () => {
  it("refuses a spent hard-stop budget synchronously once settings and spend are cached", async () => {
    const teams = new Teams(store, new StoreAuditLog(store, clock), clock, undefined, 2000);
    await teams.put("sync-spender", { budget: { amount: 1, period: "day", hardStop: true } });
    await teams.checkBudget("sync-spender"); // reads the spend counter once
    expect(teams.checkBudgetNow("sync-spender")).toBeUndefined(); // cached: decided at once
    expect(teams.addSpendNow("sync-spender", 0.6)).toBeCloseTo(0.6, 6);
    expect(teams.addSpendNow("sync-spender", 0.6)).toBeCloseTo(1.2, 6);
    let thrown: unknown;
    try {
      teams.checkBudgetNow("sync-spender");
    } catch (e) {
      thrown = e;
    }
    expect((thrown as LlmError).openaiCode).toBe("budget_exceeded");
    await teams.flush();
  });

  it("re-reads another process's spend in the background from half the ttl, so a busy process stops without waiting", async () => {
    let t = 7_000_000;
    const tclock = { now: () => t };
    const audit = new StoreAuditLog(store, tclock);
    const spender = new Teams(store, audit, tclock, undefined, 2000);
    const busy = new Teams(store, audit, tclock, undefined, 2000);
    await spender.put("shared-spend", { budget: { amount: 1, period: "day", hardStop: true } });
    await busy.checkBudget("shared-spend");
    spender.addSpendNow("shared-spend", 1.5);
    await spender.flush(); // the shared counter now holds more than the budget
    t += 1200; // past half the ttl: decided at once on the old figure, one read goes out
    expect(busy.checkBudgetNow("shared-spend")).toBeUndefined();
    await new Promise((r) => setTimeout(r, 20));
    let thrown: unknown;
    try {
      expect(busy.checkBudgetNow("shared-spend")).toBeUndefined(); // never reached: it throws at once
    } catch (e) {
      thrown = e;
    }
    expect((thrown as LlmError).openaiCode).toBe("budget_exceeded");
  });

  it("does not re-read a failing store's spend counter on every request", async () => {
    let t = 9_000_000;
    const tclock = { now: () => t };
    let failing = false;
    let reads = 0;
    const flaky = Object.create(store) as MetadataStore;
    flaky.get = (...args) => {
      if (args[0].pk === "llm#spend") reads++;
      if (failing && args[0].pk === "llm#spend") return Promise.reject(new Error("ThrottlingException"));
      return store.get(...args);
    };
    const teams = new Teams(flaky, new StoreAuditLog(store, tclock), tclock, undefined, 2000);
    await teams.put("flaky-spend", { budget: { amount: 100, period: "day", hardStop: true } });
    await teams.checkBudget("flaky-spend");
    failing = true;
    const before = reads;
    t += 1200; // refresh ahead: requests are decided at once, one background read fails
    for (let i = 0; i < 50; i++) {
      expect(teams.checkBudgetNow("flaky-spend")).toBeUndefined();
      await new Promise((r) => setTimeout(r, 0));
    }
    expect(reads - before).toBe(1);
    t += 500; // a quarter of the ttl later, one more try
    teams.checkBudgetNow("flaky-spend");
    await new Promise((r) => setTimeout(r, 0));
    expect(reads - before).toBe(2);
    failing = false;
  });

  it("names the budget period of any time (one Date per day, not per request)", () => {
    const eve = Date.UTC(2026, 11, 31, 23, 59, 59);
    expect(periodOf(eve, "day")).toBe("2026-12-31");
    expect(periodOf(eve, "month")).toBe("2026-12");
    expect(periodOf(eve + 1000, "day")).toBe("2027-01-01");
    expect(periodOf(eve + 1000, "month")).toBe("2027-01");
    expect(periodOf(eve, "month")).toBe("2026-12"); // back again
    expect(periodOf(Date.UTC(2026, 1, 28, 0, 0, 0), "day")).toBe("2026-02-28");
  });
});
