import { performance } from "node:perf_hooks";
import { ROUTE_CLASSES, type RouteClass } from "./admission-classes";

/**
 * The shedding controller of `front` admission (admission-front.ts): per route class, the share
 * of arrivals refused, moved every window by how far the class's queue sojourn (the time a
 * request read by node waited before the app got it) is above its target.
 *
 * - The window's figures are the *smallest* sojourn of what left the queue and the smallest
 *   number of the class's requests each had waiting ahead of it (CoDel's standing queue: a
 *   burst or a stall of the process leaves some requests served at once; a queue that stands
 *   delays every one), or the head's age and the queue's length when nothing left. Both must
 *   stand above their targets: a process that gets less CPU (other work on the machine) serves
 *   its normal queue more slowly, which is no overload, and only the depth tells them apart.
 * - The target is relative: `tolerance` x the class's normal sojourn (a slow average of the
 *   windows under target in which the loop was at least half busy and nothing was shed; the
 *   first `warmup` such windows only learn), never below `targetMs`. So the load the server
 *   carries (its own normal) is not refused, whatever the machine's speed, and a class is shed
 *   once its queue stands at `tolerance` x normal. The normal does not follow an overload
 *   (shedding windows teach nothing); a legitimate step up in load is shed until the windows
 *   under target have raised it (about 10% a second).
 * - Shedding starts after `sustain` windows above target and only while the event loop is
 *   saturated (utilization >= `busyUtilization`) or all the class's places are taken (at once
 *   if the class was shed in the last 2 s); the share then grows in proportion to the excess
 *   (an integral controller: it settles where the queue meets the target) and falls back in
 *   proportion to the shortfall while under target, twice as fast if the loop has room.
 *   It never passes `maxShed`, so no class starves.
 *
 * Deterministic: the clock, the loop's utilization, the queue state and the random draw are
 * injected. The decision on an arrival reads counters only (no await, no allocation).
 */
export interface ShedOptions {
  /** Sojourn (ms) never shed, whatever the learned normal (the target's floor). */
  targetMs: number;
  /** Shed once the sojourn stands above this multiple of its normal. */
  tolerance?: number;
  /** Loaded windows averaged (running mean) into the normal before anything is shed (50: 5 s). */
  warmup?: number;
  /** Windows in a row above target before shedding starts. */
  sustain?: number;
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
  /** Requests of a class waiting ahead below which it is never shed (the depth target's floor). */
  targetDepth?: number;
  /**
   * The class's oldest waiting request's age (ms), how many wait, whether all its places are
   * taken, and its places (a queue no deeper than them is one hand-off batch: never shed).
   */
  classState: (cls: RouteClass) => { headAgeMs: number; queued: number; saturated: boolean; places?: number };
  now?: () => number;
  random?: () => number;
}

/** Windows after shedding stopped during which a class over target is shed again without waiting `sustain`. */
const RESUME_WINDOWS = 20;
/** The loop's utilization from which a window teaches the normal (an idle server's sojourn does not). */
const LEARN_UTILIZATION = 0.5;
/** The normal sojourn's average weight per window once warm (a time constant of ~50 windows). */
const NORMAL_ALPHA = 0.02;

interface ClassWindow {
  share: number;
  min: number;
  minAhead: number;
  count: number;
  /** The class's normal sojourn (ms) and queue depth, and the windows they were learned from. */
  normal: number;
  normalAhead: number;
  learned: number;
  above: number;
  /** Windows since the class was last shed. */
  sinceShed: number;
}

export class ShedController {
  private readonly windows: Record<RouteClass, ClassWindow>;
  private since: number;
  private readonly floor: number;
  private readonly floorDepth: number;
  private readonly tolerance: number;
  private readonly sustain: number;
  private readonly warmup: number;
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
    this.floor = opts.targetMs;
    this.floorDepth = opts.targetDepth ?? 2;
    this.tolerance = opts.tolerance ?? 1.5;
    this.sustain = opts.sustain ?? 5;
    this.warmup = opts.warmup ?? 50;
    this.windowMs = opts.windowMs ?? 100;
    this.gain = opts.gain ?? 0.1;
    this.maxShed = opts.maxShed ?? 0.9;
    this.busy = opts.busyUtilization ?? 0.9;
    this.utilization = opts.utilization ?? loopUtilization();
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
    this.since = this.now();
    this.windows = Object.fromEntries(
      ROUTE_CLASSES.map((c) => [
        c,
        {
          share: 0,
          min: Number.POSITIVE_INFINITY,
          minAhead: Number.POSITIVE_INFINITY,
          count: 0,
          normal: 0,
          normalAhead: 0,
          learned: 0,
          above: 0,
          sinceShed: Number.POSITIVE_INFINITY,
        },
      ]),
    ) as Record<RouteClass, ClassWindow>;
  }

  /** An arrival of `cls`: true = refuse it now. */
  refuse(cls: RouteClass): boolean {
    this.roll();
    const share = this.windows[cls].share;
    return share > 0 && this.random() < share;
  }

  /** A request of `cls` left the queue for the app after waiting `sojournMs` behind `ahead` others of its class. */
  observe(cls: RouteClass, sojournMs: number, ahead: number): void {
    const w = this.windows[cls];
    if (sojournMs < w.min) w.min = sojournMs;
    if (ahead < w.minAhead) w.minAhead = ahead;
    w.count++;
  }

  /** The share of `cls`'s arrivals now refused (0..maxShed). */
  share(cls: RouteClass): number {
    return this.windows[cls].share;
  }

  /** The sojourn (ms) above which `cls` is shed now. */
  target(cls: RouteClass): number {
    const w = this.windows[cls];
    return w.learned < this.warmup
      ? Number.POSITIVE_INFINITY
      : Math.max(this.floor, this.tolerance * w.normal);
  }

  /** The queue depth (requests of the class waiting ahead) above which `cls` may be shed now. */
  depthTarget(cls: RouteClass): number {
    const w = this.windows[cls];
    return w.learned < this.warmup
      ? Number.POSITIVE_INFINITY
      : Math.max(this.floorDepth, this.opts.classState(cls).places ?? 0, this.tolerance * w.normalAhead);
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
      const sojourn = w.count > 0 ? w.min : state.headAgeMs;
      const ahead = w.count > 0 ? w.minAhead : state.queued;
      const seen = w.count > 0 || state.headAgeMs > 0;
      w.min = Number.POSITIVE_INFINITY;
      w.minAhead = Number.POSITIVE_INFINITY;
      w.count = 0;
      if (!seen) continue;
      const target = this.target(cls);
      const depthTarget = this.depthTarget(cls);
      // A standing queue is long in time *and* in requests: a process that gets less CPU (other
      // work on the machine) serves its normal queue more slowly, which is no overload.
      const standing = sojourn > target && ahead > depthTarget;
      const over = standing && (util >= this.busy || state.saturated);
      w.above = over ? w.above + 1 : 0;
      w.sinceShed = w.share > 0 ? 0 : w.sinceShed + 1;
      const ratio = Math.min(sojourn / target, ahead / depthTarget);
      // A class shed a moment ago is shed again at once (an overload that paused, not a burst).
      if (over && (w.share > 0 || w.above >= this.sustain || w.sinceShed <= RESUME_WINDOWS))
        w.share = Math.min(this.maxShed, w.share + this.gain * Math.min(ratio - 1, 4));
      else if (!standing)
        w.share = Math.max(0, w.share - this.gain * Math.max(0.25, 1 - ratio) * (util < this.busy ? 2 : 1));
      // Learn the normal from loaded windows under target that shed nothing (an idle server's
      // sojourn is no normal to hold a loaded one to; a standing queue is not one either).
      if (w.share === 0 && util >= LEARN_UTILIZATION && !over) {
        w.learned++;
        const weight = w.learned <= this.warmup ? 1 / w.learned : NORMAL_ALPHA;
        w.normal += (sojourn - w.normal) * weight;
        w.normalAhead += (ahead - w.normalAhead) * weight;
      }
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
