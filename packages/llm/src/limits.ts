import type { Clock } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { LlmError } from "./errors";
import { StoreBuckets, type StoreDraw, WINDOW_MS } from "./store-buckets";

/** A lease is refilled in the background when it would run out within this many store round trips. */
const PREFETCH_ROUND_TRIPS = 4;

/** One bucket to draw from: `limit` units per minute (requests or tokens), `cost` units now. */
export interface BucketDraw {
  /** e.g. `key:<id>:rpm`, `team:<t>:tpm`, `model:<m>:rpm`. */
  id: string;
  kind: "requests" | "tokens";
  limit: number;
  cost: number;
}

export interface BucketState {
  kind: "requests" | "tokens";
  limit: number;
  remaining: number;
  resetMs: number;
}

export interface LeaseOptions {
  /** Share of a bucket's limit a lease takes at most beyond what waiting callers need. */
  fraction?: number;
  /** A lease's unused units go back to the shared bucket after this long. */
  leaseMs?: number;
  /** A refusal seen in the shared bucket refuses locally (without a store read) this long. */
  refusalMs?: number;
}

/** This process's slice of one shared bucket. */
interface Lease {
  id: string;
  limit: number;
  /** Units taken from the shared bucket and not yet used. */
  units: number;
  expiresAt: number;
  /** The shared bucket's free units as of the last draw. */
  storeRemaining: number;
  /** Units of callers waiting on `refill` (the next lease asks for them too). */
  waiting: number;
  /** Units admitted since the last lease was asked for (the next asks for up to twice that). */
  used: number;
  /** When the last lease was asked for. */
  askedAt: number;
  /** Units per ms admitted between draws (moving average): how far ahead to refill. */
  perMs: number;
  /** Units the last draw gave. */
  granted: number;
  /** When a background top-up last failed (the next waits `refusalMs`). */
  prefetchFailedAt: number;
  /** A background top-up scheduled or under way. */
  prefetching?: Promise<void>;
  refill?: Promise<StoreDraw>;
  refused?: { tat: number; at: number };
  /** Completion tokens used beyond the lease, not yet written to the shared bucket. */
  debt: number;
  debtFlush?: Promise<void>;
  lastUsed: number;
}

/**
 * Rate limits that hold across processes (Lambda instances) at one store write per lease, not
 * per request: a process takes a batch of units from the shared bucket (`StoreBuckets`, one
 * conditional write that never takes more than is free) and admits from memory until the batch
 * runs out or expires, when the unused rest goes back. A batch is what the waiting callers need,
 * or twice what was admitted since the last one (at most `fraction` of the limit), so it grows
 * with the traffic and an idle instance holds almost nothing. Every admitted unit was first taken from
 * the shared bucket, so all instances together never admit above the limit; a lease held by one
 * instance only makes others refuse a little early. Concurrent callers of one process share one
 * in-flight draw (it asks for their units too), and a refusal is remembered briefly so a burst
 * past the limit is refused without a store read each.
 */
export class RateLimiter {
  private readonly buckets: StoreBuckets;
  private readonly leases = new Map<string, Lease>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly fraction: number;
  private readonly leaseMs: number;
  private readonly refusalMs: number;
  private sweeper?: ReturnType<typeof setInterval>;
  /** The shared bucket's draw time (moving average, real ms): how far ahead leases are refilled. */
  private roundTripMs = 10;
  private stopping = false;

  constructor(
    store: MetadataStore,
    private readonly clock: Clock,
    opts: LeaseOptions = {},
  ) {
    this.buckets = new StoreBuckets(store, clock);
    this.fraction = opts.fraction ?? 0.1;
    this.leaseMs = opts.leaseMs ?? 2000;
    this.refusalMs = opts.refusalMs ?? 500;
  }

  /** Draws from every bucket at once; throws 429 with Retry-After and x-ratelimit-* headers. */
  async admit(draws: BucketDraw[]): Promise<BucketState[]> {
    const now = this.admitNow(draws);
    return now instanceof Promise ? await now : now;
  }

  /**
   * As `admit`, synchronously (states, or a throw) when this process's leases decide every
   * bucket; a promise only when a lease must be drawn from the shared bucket.
   */
  admitNow(draws: BucketDraw[]): BucketState[] | Promise<BucketState[]> {
    const live = draws.filter((d) => d.cost > 0);
    let pending = false;
    const taken = live.map((d) => {
      const s = this.takeNow(d);
      if (s) return s;
      pending = true;
      return this.take(d);
    });
    if (pending) return Promise.all(taken).then((states) => this.settle(live, states));
    return this.settle(live, taken as BucketState[]);
  }

  private settle(live: BucketDraw[], states: BucketState[]): BucketState[] {
    const refused = states.findIndex((s) => s.remaining < 0);
    if (refused < 0) return states;
    // Refused by one bucket: the units taken from the others go back to this process's leases.
    for (const [i, s] of states.entries()) if (s.remaining >= 0) this.lease(live[i]).units += live[i].cost;
    const d = live[refused];
    const state = states[refused];
    const retryAfter = Math.max(1, Math.ceil(state.resetMs / 1000));
    throw new LlmError(
      "rate_limited",
      `Rate limit reached for ${d.id.replace(/:(rpm|tpm)$/, "")}: ${d.limit} ${d.kind} per minute` +
        (d.cost > d.limit ? ` (this request needs ${d.cost})` : "") +
        `. Please try again in ${retryAfter}s.`,
      d.kind === "requests" ? "rate_limit_exceeded" : "tokens_rate_limit_exceeded",
      null,
      {
        "retry-after": String(retryAfter),
        ...rateLimitHeaders(states.map((s) => ({ ...s, remaining: Math.max(0, s.remaining) }))),
      },
    );
  }

  /** Adds units learnt after the answer (completion tokens) without refusing anything. */
  charge(d: BucketDraw): void {
    if (d.cost <= 0) return;
    const b = this.lease(d);
    const fromLease = Math.min(b.units, d.cost);
    b.units -= fromLease;
    if (fromLease === d.cost) return;
    b.debt += d.cost - fromLease;
    if (b.debtFlush) return;
    b.debtFlush = this.track(
      (async () => {
        await new Promise((r) => setImmediate(r));
        while (b.debt > 0) {
          const n = b.debt;
          b.debt = 0;
          await this.buckets.charge(b.id, b.limit, n);
        }
      })().finally(() => {
        b.debtFlush = undefined;
      }),
    );
  }

  /** Gives every lease's unused units back and writes outstanding charges. */
  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.stopping = true; // no more background top-ups
    // A draw in flight (a top-up) may land after the first give-back: its units go back too.
    for (;;) {
      for (const b of this.leases.values()) this.giveBack(b);
      if (!this.inFlight.size) break;
      await Promise.all([...this.inFlight]);
    }
  }

  /** A draw this process's lease decides at once (admitted from its units, or a remembered refusal); else undefined. */
  private takeNow(d: BucketDraw): BucketState | undefined {
    if (d.cost > d.limit) return refusedState(d, WINDOW_MS);
    const b = this.lease(d);
    const now = this.clock.now();
    if (b.expiresAt <= now) return undefined;
    if (b.units >= d.cost) {
      b.lastUsed = now;
      b.units -= d.cost;
      b.used += d.cost;
      this.prefetch(b, d, now);
      const remaining = b.storeRemaining + b.units;
      const T = WINDOW_MS / d.limit;
      return { kind: d.kind, limit: d.limit, remaining, resetMs: Math.max(0, (d.limit - remaining) * T) };
    }
    return undefined;
  }

  private async take(d: BucketDraw): Promise<BucketState> {
    const refused = (waitMs: number): BucketState => refusedState(d, waitMs);
    if (d.cost > d.limit) return refused(WINDOW_MS);
    const b = this.lease(d);
    const T = WINDOW_MS / d.limit;
    for (;;) {
      const now = this.clock.now();
      b.lastUsed = now;
      if (b.expiresAt <= now && b.units > 0) this.giveBack(b);
      if (b.units >= d.cost) {
        b.units -= d.cost;
        b.used += d.cost;
        const remaining = b.storeRemaining + b.units;
        return { kind: d.kind, limit: d.limit, remaining, resetMs: Math.max(0, (d.limit - remaining) * T) };
      }
      const short = d.cost - b.units;
      if (b.refused && now - b.refused.at < this.refusalMs) {
        const wait = b.refused.tat - (now + WINDOW_MS - short * T);
        if (wait > 0) return refused(wait);
      }
      if (b.refill) {
        b.waiting += d.cost;
        try {
          await b.refill;
        } finally {
          b.waiting -= d.cost;
        }
        continue;
      }
      const r = await this.refill(b, d, this.want(b, d, short + b.waiting, now), short);
      if (r.granted === 0) return refused(r.waitMs);
    }
  }

  /**
   * How many units a lease asks for: what is needed now, or what recent traffic suggests (twice
   * what was admitted since the last draw, or half a lease's worth at its rate), at most a
   * `fraction` of the limit: an idle or frozen instance (a Lambda between invocations) holds
   * little of the bucket.
   */
  private want(b: Lease, d: BucketDraw, need: number, now: number): number {
    const recent = Math.max(2 * b.used, Math.ceil((this.recentRate(b, now) * this.leaseMs) / 2));
    return Math.min(d.limit, Math.max(need, Math.min(Math.ceil(d.limit * this.fraction), recent)));
  }

  /** Units per ms admitted since the lease's last draw (over at least 50 ms): falls as it idles. */
  private recentRate(b: Lease, now: number): number {
    return b.used / Math.max(50, now - b.askedAt);
  }

  /** Draws `min`..`want` more units for this process's lease from the shared bucket (one draw in flight per lease). */
  private refill(b: Lease, d: BucketDraw, want: number, min: number): Promise<StoreDraw> {
    const now = this.clock.now();
    if (b.askedAt) b.perMs += 0.5 * (this.recentRate(b, now) - b.perMs);
    b.used = 0;
    b.askedAt = now;
    const sent = performance.now();
    const p = this.buckets.draw(d.id, d.limit, want, min).then((r) => {
      this.roundTripMs += 0.2 * (performance.now() - sent - this.roundTripMs);
      const at = this.clock.now();
      if (r.granted > 0) {
        b.units += r.granted;
        b.granted = r.granted;
        b.storeRemaining = r.remaining;
        b.expiresAt = at + this.leaseMs;
        b.refused = undefined;
      } else b.refused = { tat: r.tat, at };
      return r;
    });
    b.refill = p.finally(() => {
      b.refill = undefined;
    });
    return b.refill;
  }

  /**
   * Refresh ahead: a lease in use that is down to half its last batch, or would run out (of
   * units or of time) within a few of the store's round trips at its rate, asks for its next
   * batch in the background, so under steady traffic (and a burst after a pause) callers keep
   * being admitted from memory and none waits on the store's write (those waits were the
   * gateway's p99). A lease no request touches is left to expire and give its units back. Not
   * while the shared bucket recently refused (that is remembered and answered locally).
   */
  private prefetch(b: Lease, d: BucketDraw, now: number): void {
    if (this.stopping || b.refill || b.prefetching || (b.refused && now - b.refused.at < this.refusalMs))
      return;
    if (now - b.prefetchFailedAt < this.refusalMs) return; // a failing store is not asked by every request
    const ahead = PREFETCH_ROUND_TRIPS * this.roundTripMs;
    const low = Math.max(b.granted / 2, Math.max(b.perMs, this.recentRate(b, now)) * ahead + d.cost);
    if (b.units >= low && b.expiresAt - now > ahead) return;
    // Drawn once the current request's own work is done (next check phase): with the local
    // SQLite store the draw's write runs synchronously, and it is not that request's time.
    const p = new Promise<void>((r) => setImmediate(r))
      .then(async () => {
        if (!b.refill && !this.stopping)
          await this.refill(b, d, this.want(b, d, d.cost, this.clock.now()), 1);
      })
      .catch(() => {
        b.prefetchFailedAt = this.clock.now();
      });
    b.prefetching = p;
    this.track(p.finally(() => (b.prefetching = undefined)));
  }

  private lease(d: BucketDraw): Lease {
    let b = this.leases.get(d.id);
    if (b && b.limit !== d.limit) {
      // The limit changed (settings were edited): units of the old size go back first.
      this.giveBack(b);
      b.limit = d.limit;
      b.refused = undefined;
    }
    if (!b) {
      b = {
        id: d.id,
        limit: d.limit,
        units: 0,
        expiresAt: 0,
        storeRemaining: 0,
        waiting: 0,
        used: 0,
        askedAt: 0,
        perMs: 0,
        granted: 0,
        prefetchFailedAt: Number.NEGATIVE_INFINITY,
        debt: 0,
        lastUsed: 0,
      };
      this.leases.set(d.id, b);
      this.startSweeper();
    }
    return b;
  }

  private giveBack(b: Lease): void {
    if (b.units <= 0) return;
    const n = b.units;
    b.units = 0;
    this.track(this.buckets.charge(b.id, b.limit, -n));
  }

  /** Returns expired leases' units and forgets idle buckets. */
  private startSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = this.clock.now();
      for (const [id, b] of this.leases) {
        if (b.expiresAt <= now) this.giveBack(b);
        if (!b.units && !b.refill && !b.debtFlush && now - b.lastUsed > WINDOW_MS) this.leases.delete(id);
      }
    }, this.leaseMs);
    this.sweeper.unref?.();
  }

  /** Keeps a background write (give-back, charge) until done; a failed one is dropped, as before. */
  private track(p: Promise<unknown>): Promise<void> {
    const q: Promise<void> = p
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => this.inFlight.delete(q));
    this.inFlight.add(q);
    return q;
  }
}

function refusedState(d: BucketDraw, waitMs: number): BucketState {
  return { kind: d.kind, limit: d.limit, remaining: -1, resetMs: Math.max(0, waitMs) };
}

/** OpenAI's x-ratelimit-* headers from the tightest bucket of each kind. */
export function rateLimitHeaders(states: BucketState[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of ["requests", "tokens"] as const) {
    const of = states.filter((s) => s.kind === kind);
    if (!of.length) continue;
    const tightest = of.reduce((a, b) => (b.remaining / b.limit < a.remaining / a.limit ? b : a));
    out[`x-ratelimit-limit-${kind}`] = String(tightest.limit);
    out[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, tightest.remaining));
    out[`x-ratelimit-reset-${kind}`] = `${(tightest.resetMs / 1000).toFixed(3)}s`;
  }
  return out;
}
