import { monitorEventLoopDelay } from "node:perf_hooks";

/** What the overload gate reads: the event loop's median delay since the last `reset()`. */
export interface LagSource {
  /** Median delay in ms of the samples taken since the last reset; `undefined` when there are none. */
  medianMs(): number | undefined;
  /** Mean delay in ms since the last reset; 0 when there are no samples. */
  meanMs?(): number;
  /** Smallest delay in ms since the last reset, less the sampling interval; `undefined` when there are none. */
  minMs?(): number | undefined;
  reset(): void;
}

/**
 * The event loop's own delay, sampled every 10 ms by node. A saturated server queues its work
 * in socket buffers and the loop's task queue before the app sees a request, so the in-flight
 * count stays low while latency grows; the loop's delay sees that queue. The median (not the
 * maximum) is read, so one long synchronous task or GC pause does not count as overload.
 */
export function eventLoopLag(resolutionMs = 10): LagSource {
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  return {
    minMs: () => (h.count === 0 ? undefined : Math.max(0, h.min / 1e6 - resolutionMs)),
    medianMs: () => (h.count === 0 ? undefined : h.percentile(50) / 1e6),
    meanMs: () => (h.count === 0 ? 0 : h.mean / 1e6),
    reset: () => h.reset(),
  };
}

export interface OverloadGateOptions {
  /** Median loop delay (ms) over a window above which the server counts as overloaded; 0 = never. */
  maxLagMs: number;
  /** How often (ms) the delay is read; the decision holds in between. */
  windowMs?: number;
  now?: () => number;
  lag?: LagSource;
}

/**
 * Decides, per request, whether the server is overloaded. Read lazily on requests (no timer):
 * once a window has passed, the median delay of that window sets the state, with hysteresis:
 * overloaded above `maxLagMs`, and back to normal only once it is below half of it, so the
 * server neither flaps at the edge nor keeps refusing once the queue has drained.
 */
export function overloadGate(opts: OverloadGateOptions): { overloaded(): boolean } {
  if (opts.maxLagMs <= 0) return { overloaded: () => false };
  const now = opts.now ?? Date.now;
  const lag = opts.lag ?? eventLoopLag();
  const windowMs = opts.windowMs ?? 250;
  let overloaded = false;
  let since = now();
  return {
    overloaded() {
      const t = now();
      if (t - since >= windowMs) {
        const median = lag.medianMs();
        lag.reset();
        since = t;
        if (median !== undefined) overloaded = median > (overloaded ? opts.maxLagMs / 2 : opts.maxLagMs);
      }
      return overloaded;
    },
  };
}
