import { performance } from "node:perf_hooks";
import { ROUTE_CLASSES, type RouteClass } from "./admission-classes";

/**
 * The shedding controller of `front` admission (admission-front.ts): per route class, the share
 * of arrivals refused, moved every window by how far the class's queue sojourn (the time a
 * request read by node waited before the app got it) is from its target, and only while the
 * event loop is saturated (or the class is at its places): an integral controller, so a class
 * that queues is shed in proportion to its excess and no more, a class that does not queue is
 * never shed, and at a load the server carries (sojourn under target) nothing is refused.
 *
 * Deterministic: the clock, the loop's utilization, the queue state and the random draw are
 * injected. The decision on an arrival reads counters only (no await, no allocation).
 */
export interface ShedOptions {
  /** Queue sojourn (ms, the window's mean) above which a class is shed. */
  targetMs: number;
  /** How often (ms) the shed shares are updated. */
  windowMs?: number;
  /** How far one window at twice the target moves a share (0..1); below target it falls as fast. */
  gain?: number;
  /** The most of a class's arrivals ever shed, so no class starves (queue-full refusals aside). */
  maxShed?: number;
  /** Event-loop utilization (0..1) at or above which the loop counts as saturated. */
  busyUtilization?: number;
  /** The loop's utilization since the last call (performance.eventLoopUtilization deltas by default). */
  utilization?: () => number;
  /** The class's oldest waiting request's age (ms) and whether all its places are taken. */
  classState: (cls: RouteClass) => { headAgeMs: number; saturated: boolean };
  now?: () => number;
  random?: () => number;
}

interface ClassWindow {
  share: number;
  sum: number;
  count: number;
}

export class ShedController {
  private readonly windows: Record<RouteClass, ClassWindow>;
  private since: number;
  private readonly targetMs: number;
  private readonly windowMs: number;
  private readonly gain: number;
  private readonly maxShed: number;
  private readonly busy: number;
  private readonly utilization: () => number;
  private readonly now: () => number;
  private readonly random: () => number;
  /** The loop's utilization over the last complete window. */
  lastUtilization = 0;

  constructor(private readonly opts: ShedOptions) {
    this.targetMs = opts.targetMs;
    this.windowMs = opts.windowMs ?? 100;
    this.gain = opts.gain ?? 0.1;
    this.maxShed = opts.maxShed ?? 0.9;
    this.busy = opts.busyUtilization ?? 0.9;
    this.utilization = opts.utilization ?? loopUtilization();
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
    this.since = this.now();
    this.windows = Object.fromEntries(
      ROUTE_CLASSES.map((c) => [c, { share: 0, sum: 0, count: 0 }]),
    ) as Record<RouteClass, ClassWindow>;
  }

  /** An arrival of `cls`: true = refuse it now. */
  refuse(cls: RouteClass): boolean {
    this.roll();
    const share = this.windows[cls].share;
    return share > 0 && this.random() < share;
  }

  /** A request of `cls` left the queue for the app after waiting `sojournMs`. */
  observe(cls: RouteClass, sojournMs: number): void {
    const w = this.windows[cls];
    w.sum += sojournMs;
    w.count++;
  }

  /** The share of `cls`'s arrivals now refused (0..maxShed). */
  share(cls: RouteClass): number {
    return this.windows[cls].share;
  }

  /** Closes the window once it has lasted `windowMs` (read lazily: no timer). */
  roll(): void {
    const t = this.now();
    if (t - this.since < this.windowMs) return;
    this.since = t;
    const util = this.utilization();
    this.lastUtilization = util;
    for (const cls of ROUTE_CLASSES) {
      const w = this.windows[cls];
      const state = this.opts.classState(cls);
      // Mean sojourn of what left the queue, or the head's age if nothing left it this window.
      const sojourn = w.count > 0 ? Math.max(w.sum / w.count, state.headAgeMs) : state.headAgeMs;
      w.sum = 0;
      w.count = 0;
      const excess = sojourn / this.targetMs - 1;
      if (excess > 0 && (util >= this.busy || state.saturated))
        w.share = Math.min(this.maxShed, w.share + this.gain * Math.min(excess, 4));
      else if (excess <= 0) w.share = Math.max(0, w.share - this.gain * (util < this.busy ? 2 : 1));
    }
  }
}

/** The event loop's utilization (0..1) since the previous call. */
export function loopUtilization(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const current = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(current, last);
    last = current;
    return delta.utilization;
  };
}
