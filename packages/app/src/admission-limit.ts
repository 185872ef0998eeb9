/**
 * An adaptive concurrency limit for one server process, learned from the requests it serves,
 * so no threshold has to be set by hand. Every window (at least `windowMs` and `minSamples`
 * finished requests) gives three figures by Little's law: throughput X (requests/s), mean
 * latency R, and mean concurrency L = X * R. R is the time in the app plus the event loop's mean
 * delay over the window (`waitMs`): a saturated loop leaves requests unread in their sockets,
 * a wait the app never sees start, and the loop's delay is the length of that wait. A baseline (X0, R0) follows them while the server
 * runs normally. A window is **queueing** when
 *
 *   R > tolerance * R0   (requests take longer than normal),
 *   L > growth * L0      (more of them run at once than normally: more load, not slower work),
 *   X < growth * X0      (and the extra concurrency bought no extra throughput).
 *
 * That is the signature of a queue: only waiting grows. Background work in the process (a
 * serving tick, materialization, the quickstart training a model) makes requests slower with
 * the same callers, so R rises but L does not, and X falls: not queueing, nothing is refused.
 * A new, heavier load the server carries (idle to busy) raises X: the baseline follows it.
 *
 * On a queueing window the limit is cut to the concurrency at which latency was within
 * tolerance: L * tolerance * R0 / R (with X steady, latency is proportional to concurrency).
 * Otherwise, while the limit was reached, it grows (by its square root while latency is at or
 * below normal, by one while above), probing for more. It never goes below `min` (a few
 * requests at once are never refused) or above `max`. Everything is computed on request
 * completion from the injected clock: no timer, deterministic under a fake clock.
 */
export interface AdaptiveLimitOptions {
  /** Requests at once that are always admitted. */
  min?: number;
  /** The ceiling (KEEL_MAX_IN_FLIGHT); also the starting limit. */
  max: number;
  /** Latency above this many times normal counts as queueing (with the other two signs). */
  tolerance?: number;
  /** Concurrency and throughput count as "more than normal" above this factor. */
  growth?: number;
  windowMs?: number;
  minSamples?: number;
  /** How far the baseline moves toward a normal window (0..1). */
  smoothing?: number;
  /** The event loop's mean delay (ms) since the last call: the wait before a request is read. */
  waitMs?: () => number;
  now?: () => number;
}

export interface LimitState {
  limit: number;
  inFlight: number;
  baseline?: { throughputPerS: number; latencyMs: number; concurrency: number };
}

export class AdaptiveLimit {
  private readonly min: number;
  private readonly max: number;
  private readonly tolerance: number;
  private readonly growth: number;
  private readonly windowMs: number;
  private readonly minSamples: number;
  private readonly smoothing: number;
  private readonly now: () => number;
  private readonly waitMs: () => number;
  private limitValue: number;
  private active = 0;
  private base?: { x: number; r: number };
  // The current window.
  private start: number;
  private count = 0;
  private sumLatency = 0;
  private peak = 0;

  constructor(opts: AdaptiveLimitOptions) {
    this.max = Math.max(1, opts.max);
    this.min = Math.min(this.max, opts.min ?? 8);
    this.tolerance = opts.tolerance ?? 1.5;
    this.growth = opts.growth ?? 1.2;
    this.windowMs = opts.windowMs ?? 250;
    this.minSamples = opts.minSamples ?? 16;
    this.smoothing = opts.smoothing ?? 0.2;
    this.now = opts.now ?? (() => performance.now());
    this.waitMs = opts.waitMs ?? (() => 0);
    this.limitValue = this.max;
    this.start = this.now();
  }

  /** Takes a place if one is free; the caller must `release` it with the request's latency. */
  tryAcquire(): boolean {
    if (this.active >= Math.max(this.min, Math.floor(this.limitValue))) return false;
    this.active++;
    if (this.active > this.peak) this.peak = this.active;
    return true;
  }

  /** Frees a place; `latencyMs` is how long the request ran (arrival to response). */
  release(latencyMs: number): void {
    this.active--;
    this.count++;
    this.sumLatency += latencyMs;
    const t = this.now();
    const elapsed = t - this.start;
    if (elapsed >= this.windowMs && this.count >= this.minSamples) this.closeWindow(elapsed, t);
  }

  state(): LimitState {
    const b = this.base;
    return {
      limit: Math.max(this.min, Math.floor(this.limitValue)),
      inFlight: this.active,
      baseline: b && { throughputPerS: b.x * 1000, latencyMs: b.r, concurrency: b.x * b.r },
    };
  }

  private closeWindow(elapsed: number, t: number): void {
    const x = this.count / elapsed; // requests per ms
    const r = this.sumLatency / this.count + this.waitMs();
    const l = x * r;
    const reached = this.peak >= Math.floor(this.limitValue);
    this.start = t;
    this.count = 0;
    this.sumLatency = 0;
    this.peak = this.active;
    const b = this.base;
    if (!b) {
      this.base = { x, r };
      return;
    }
    const queueing = r > this.tolerance * b.r && l > this.growth * b.x * b.r && x < this.growth * b.x;
    if (queueing) {
      this.limitValue = Math.min(this.limitValue, Math.max(this.min, (l * this.tolerance * b.r) / r));
      return;
    }
    // The baseline follows normal windows: faster ones always, slower ones only near it or
    // when they carried more (so a standing overload never becomes the new normal).
    if (r <= 1.1 * b.r || x >= this.growth * b.x) {
      b.x += this.smoothing * (x - b.x);
      b.r += this.smoothing * (r - b.r);
    }
    if (reached) this.limitValue += r <= b.r ? Math.sqrt(this.limitValue) : 1;
    if (this.limitValue > this.max) this.limitValue = this.max;
  }
}
