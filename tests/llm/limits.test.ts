import { StoreAuditLog } from "@keel/audit";
import { type BudgetAlert, LlmError, RateLimiter, Teams, UsageLog } from "@keel/llm";
import type { MetadataStore } from "@keel/metadata";
import { describe, expect, it } from "vitest";
import { freshStoreForFile } from "../helpers/metadata";

let store: MetadataStore;
let now = 1_000_000;
const clock = { now: () => now };
freshStoreForFile((s) => {
  store = s;
});

/** The store with its conditional updates counted. */
function counting(s: MetadataStore): { store: MetadataStore; updates: () => number } {
  let n = 0;
  const wrapped = Object.create(s) as MetadataStore;
  wrapped.update = (...args) => {
    n++;
    return s.update(...args);
  };
  return { store: wrapped, updates: () => n };
}

async function burst(limiter: RateLimiter, id: string, limit: number, costs: number[]) {
  const results = await Promise.allSettled(
    costs.map((cost) => limiter.admit([{ id, kind: cost === 1 ? "requests" : "tokens", limit, cost }])),
  );
  for (const r of results)
    if (r.status === "rejected") expect((r.reason as LlmError).openaiCode).toMatch(/rate_limit_exceeded/);
  return costs.filter((_, i) => results[i].status === "fulfilled");
}

describe("leased rate limits", () => {
  it("two gateway instances over one store never admit more than the limit (requests)", async () => {
    const a = new RateLimiter(store, clock);
    const b = new RateLimiter(store, clock);
    const ones = Array.from({ length: 64 }, () => 1);
    const [fromA, fromB] = await Promise.all([burst(a, "k1:rpm", 100, ones), burst(b, "k1:rpm", 100, ones)]);
    const both = fromA.length + fromB.length;
    expect(both).toBeLessThanOrEqual(100);
    // A lease is at least a tenth of the limit: each instance may hold one partly unused.
    expect(both).toBeGreaterThanOrEqual(100 - 2 * 10);
    expect(fromA.length).toBeGreaterThan(0);
    expect(fromB.length).toBeGreaterThan(0);
    // Stopped, they give back what they did not use: a third instance gets exactly the rest.
    await Promise.all([a.stop(), b.stop()]);
    const c = new RateLimiter(store, clock);
    expect(await burst(c, "k1:rpm", 100, ones)).toHaveLength(100 - both);
    await c.stop();
  });

  it("two instances never admit more tokens than the limit, whatever each request costs", async () => {
    const a = new RateLimiter(store, clock);
    const b = new RateLimiter(store, clock);
    const costs = Array.from({ length: 64 }, (_, i) => 7 + ((i * 13) % 44));
    const [fromA, fromB] = await Promise.all([
      burst(a, "k2:tpm", 1000, costs),
      burst(b, "k2:tpm", 1000, costs),
    ]);
    const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
    const admitted = sum(fromA) + sum(fromB);
    expect(admitted).toBeLessThanOrEqual(1000);
    // Each instance may be left with a lease slice smaller than its next request's cost.
    expect(admitted).toBeGreaterThan(1000 - 2 * 50);
    await Promise.all([a.stop(), b.stop()]);
  });

  it("makes one store write per lease, not per request, and grows leases with the traffic", async () => {
    const c = counting(store);
    const a = new RateLimiter(c.store, clock);
    const ones = Array.from({ length: 64 }, () => 1);
    expect(await burst(a, "k3:rpm", 100_000, ones)).toHaveLength(64);
    // The first caller's lease finds no bucket (a failed ADD, then the SET that creates it);
    // the next takes what the 63 callers waiting on it need.
    const first = c.updates();
    expect(first).toBeLessThanOrEqual(4);
    for (let i = 0; i < 5; i++) expect(await burst(a, "k3:rpm", 100_000, ones)).toHaveLength(64);
    expect(c.updates() - first).toBeLessThanOrEqual(5); // 320 requests
    await a.stop();
  });

  it("gives a lease's unused units back on stop and on expiry", async () => {
    const opts = { fraction: 0.5, leaseMs: 1000 };
    const ones = (n: number) => Array.from({ length: n }, () => 1);
    const a = new RateLimiter(store, clock, opts);
    const b = new RateLimiter(store, clock, opts);
    expect(await burst(a, "k4:rpm", 100, ones(40))).toHaveLength(40);
    // After 39 admitted since its last lease, a's next one asks for 2 x 39, at most half the limit.
    expect(await burst(a, "k4:rpm", 100, ones(1))).toHaveLength(1);
    const first = (await burst(b, "k4:rpm", 100, ones(150))).length;
    const held = 100 - 41 - first;
    expect(held).toBeGreaterThanOrEqual(40); // a's last lease was large and almost unused
    await a.stop();
    // b refuses from memory for a moment after a refusal; past that it sees what a gave back.
    now += 600;
    const back = await burst(b, "k4:rpm", 100, ones(150));
    expect(back.length).toBeGreaterThanOrEqual(held);
    expect(back.length).toBeLessThanOrEqual(held + 1); // + at most 1 refilled in 600 ms
    await b.stop();

    const c = new RateLimiter(store, clock, opts);
    const d = new RateLimiter(store, clock, opts);
    expect(await burst(c, "k5:rpm", 100, ones(40))).toHaveLength(40);
    expect(await burst(c, "k5:rpm", 100, ones(1))).toHaveLength(1); // below half its batch: c tops it up
    await new Promise((r) => setTimeout(r, 20)); // (in the background)
    now += 1001; // c's lease expires: its next draw gives the rest back first
    expect(await burst(c, "k5:rpm", 100, ones(1))).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 50));
    const rest = await burst(d, "k5:rpm", 100, ones(150));
    // 42 admitted by c, at most 2 held by it, 1.6 refilled: without the give-back d would get none.
    expect(rest.length).toBeGreaterThanOrEqual(55);
    expect(rest.length + 42).toBeLessThanOrEqual(100 + 2);
    await Promise.all([c.stop(), d.stop()]);
  });

  it("counts completion tokens charged past the lease against the shared bucket", async () => {
    const a = new RateLimiter(store, clock);
    const b = new RateLimiter(store, clock);
    await a.admit([{ id: "k6:tpm", kind: "tokens", limit: 1000, cost: 10 }]);
    a.charge({ id: "k6:tpm", kind: "tokens", limit: 1000, cost: 600 });
    await a.stop();
    const admitted = await burst(
      b,
      "k6:tpm",
      1000,
      Array.from({ length: 100 }, () => 10),
    );
    expect(admitted.length * 10).toBeLessThanOrEqual(1000 - 610);
    expect(admitted.length * 10).toBeGreaterThanOrEqual(1000 - 610 - 10);
    await b.stop();
  });

  it("refills a busy lease in the background: steady traffic never waits on the store, and two instances stay within the limit", async () => {
    const c = counting(store);
    const a = new RateLimiter(c.store, clock);
    const b = new RateLimiter(c.store, clock);
    const draw = { id: "k8:rpm", kind: "requests" as const, limit: 60_000, cost: 1 };
    await Promise.all([a.admit([draw]), b.admit([draw])]);
    // 20 ticks of 1 ms, 32 requests per instance per tick (about 64,000 a second in all);
    // between ticks the store answers the refills that were started.
    let waited = 0;
    let admitted = 2;
    for (let tick = 0; tick < 20; tick++) {
      for (let i = 0; i < 32; i++)
        for (const l of [a, b]) {
          const r = l.admitNow([draw]);
          if (r instanceof Promise) {
            if (tick >= 2) waited++; // the first ticks size the leases to the traffic
            await r;
          }
          admitted++;
        }
      now += 1;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(waited).toBe(0); // each instance's lease was topped up before it ran out
    expect(c.updates()).toBeLessThan(admitted / 20); // still one write per batch, not per request
    // Past the limit, neither instance admits more than the shared bucket gave it.
    const rest = (await burst(a, "k8:rpm", 60_000, Array(70_000).fill(1))).length;
    const restB = (await burst(b, "k8:rpm", 60_000, Array(70_000).fill(1))).length;
    expect(admitted + rest + restB).toBeLessThanOrEqual(60_000 + Math.ceil((now - 1_000_000) / 1)); // + 1 unit per ms refilled
    await Promise.all([a.stop(), b.stop()]);
  });

  it("does not ask a failing store for a top-up on every request", async () => {
    let failing = false;
    let attempts = 0;
    const flaky = Object.create(store) as MetadataStore;
    flaky.update = (...args) => {
      attempts++;
      if (failing) return Promise.reject(new Error("ProvisionedThroughputExceededException"));
      return store.update(...args);
    };
    const a = new RateLimiter(flaky, clock);
    const draw = { id: "k9:rpm", kind: "requests" as const, limit: 2000, cost: 1 };
    await burst(a, "k9:rpm", 2000, Array(64).fill(1));
    await burst(a, "k9:rpm", 2000, Array(64).fill(1)); // the lease grew to a tenth of the limit: 136 left
    failing = true;
    const before = attempts;
    let admitted = 0;
    // Past half the lease a top-up is asked for in the background, and fails.
    for (let i = 0; i < 100; i++) {
      const r = a.admitNow([draw]);
      if (!(r instanceof Promise)) admitted++;
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    // The lease's own units still admit at once; the failed top-up is not retried by each request.
    expect(admitted).toBe(100);
    expect(attempts - before).toBeGreaterThanOrEqual(1);
    expect(attempts - before).toBeLessThanOrEqual(2);
    failing = false;
    await a.stop();
  });

  it("gives back on stop the units of a top-up still in flight", async () => {
    const held: (() => void)[] = [];
    let holding = false;
    const slow = Object.create(store) as MetadataStore;
    slow.update = async (...args) => {
      if (holding) await new Promise<void>((r) => held.push(r));
      return store.update(...args);
    };
    const a = new RateLimiter(slow, clock);
    const draw = { id: "k10:rpm", kind: "requests" as const, limit: 1000, cost: 1 };
    await burst(a, "k10:rpm", 1000, Array(64).fill(1));
    await burst(a, "k10:rpm", 1000, Array(64).fill(1)); // a lease of a tenth of the limit
    holding = true;
    let admitted = 0;
    while (!held.length && admitted < 100) {
      if (!(a.admitNow([draw]) instanceof Promise)) admitted++; // past half the lease a top-up goes out (held)
      await new Promise((r) => setImmediate(r)); // (once the turn's work is done)
    }
    expect(held).toHaveLength(1);
    holding = false;
    const stopped = a.stop(); // gives back what the lease holds now...
    for (const release of held) release(); // ...and then the top-up lands
    await stopped;
    // Everything not admitted went back, the top-up's units included.
    const b = new RateLimiter(store, clock);
    const rest = (await burst(b, "k10:rpm", 1000, Array(1200).fill(1))).length;
    expect(rest).toBeGreaterThanOrEqual(1000 - 128 - admitted);
    await b.stop();
  });

  it("refuses a request larger than the whole bucket with 429 and Retry-After", async () => {
    const a = new RateLimiter(store, clock);
    const err = await a.admit([{ id: "k7:tpm", kind: "tokens", limit: 100, cost: 101 }]).catch((e) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err.openaiCode).toBe("tokens_rate_limit_exceeded");
    expect(Number(err.headers["retry-after"])).toBeGreaterThan(0);
    await a.stop();
  });
});

describe("batched usage log", () => {
  it("writes records in batches and reads its own writes", async () => {
    let batches = 0;
    const s = Object.create(store) as MetadataStore;
    s.batchPut = (items) => {
      batches++;
      return store.batchPut(items);
    };
    const log = new UsageLog(s, clock, undefined, { batchSize: 100, maxAgeMs: 10_000 });
    const rec = (i: number) => ({
      team: "batch",
      principal: "p",
      model: "m",
      tokensIn: i,
      tokensOut: 1,
      cost: 0.001,
      latencyMs: 1,
      cacheHit: false,
      redactions: {},
      status: 200,
      stream: false,
      fallbacks: 0,
      tokenSource: "usage" as const,
    });
    for (let i = 0; i < 250; i++) {
      log.record(rec(i));
      if (i === 99) expect(batches).toBe(0); // a full batch is written once the turn's work is done...
      if (i % 50 === 49) await new Promise((r) => setImmediate(r)); // ...here
    }
    expect(batches).toBe(2); // 200 written by size, 50 waiting for age or a flush
    const rows = await log.query({ team: "batch", limit: 1000 });
    expect(rows).toHaveLength(250);
    expect(batches).toBe(3);
    const [summary] = await log.summary({ team: "batch" });
    expect(summary.requests).toBe(250);

    const bounded = new UsageLog(s, clock, undefined, { batchSize: 1000, maxAgeMs: 10_000, maxBuffered: 10 });
    for (let i = 0; i < 15; i++) bounded.record({ ...rec(i), team: "bounded" });
    expect(bounded.dropped).toBe(5);
    const kept = await bounded.query({ team: "bounded" });
    expect(kept.map((r) => r.tokensIn).sort((x, y) => x - y)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });
});

describe("team spend counted in the process, written in the background", () => {
  it("stops at once in the spending process and within the cache lifetime in another", async () => {
    const audit = new StoreAuditLog(store, clock);
    const alerts: BudgetAlert[] = [];
    const a = new Teams(store, audit, clock, (x) => void alerts.push(x), 2000);
    const b = new Teams(store, audit, clock, undefined, 2000);
    await a.put("spender", { budget: { amount: 1, period: "month", alerts: [0.5], hardStop: true } });
    await a.checkBudget("spender");
    await b.checkBudget("spender"); // b has read the counter: 0
    for (let i = 0; i < 30; i++) void a.addSpend("spender", 0.04); // 1.2 USD from 30 concurrent requests
    await new Promise((r) => setImmediate(r));
    const inA = await a.checkBudget("spender").catch((e) => e);
    expect(inA).toBeInstanceOf(LlmError);
    expect(inA.openaiCode).toBe("budget_exceeded");
    await a.flush();
    expect(await b.spent("spender")).toBeCloseTo(1.2, 6);
    await b.checkBudget("spender"); // still its read of 0: within the 2 s cache lifetime
    now += 2001;
    expect(await b.checkBudget("spender").catch((e) => e.openaiCode)).toBe("budget_exceeded");
    expect(alerts.map((x) => x.threshold)).toEqual([0.5]);
  });
});
