import { errorBody, INTERNAL_CALL_HEADER, RETRY_AFTER_SECONDS } from "@keel/core";
import type { Context, MiddlewareHandler } from "hono";
import {
  ClassAdmission,
  type ClassAdmissionOptions,
  ROUTE_CLASSES,
  type RouteClass,
  routeClass,
} from "./admission-classes";
import { AdaptiveLimit, type AdaptiveLimitOptions } from "./admission-limit";
import { eventLoopLag, type OverloadGateOptions, overloadGate } from "./overload";

export interface AdmissionOptions {
  /** The most requests run at once in this process; 0 = no limit and no admission control at all. */
  maxInFlight: number;
  /**
   * `adaptive` (the default): the limit is learned below `maxInFlight` (see admission-limit.ts);
   * `fixed`: exactly `maxInFlight`.
   */
  mode?: "adaptive" | "fixed" | "classes" | "front";
  /** `classes` mode: each route class's places and queue, and the queue's sojourn target (admission-classes.ts). */
  classes?: Omit<ClassAdmissionOptions, "now"> & { watchLoop?: boolean };
  /** The adaptive limit's tuning and clock (tests). */
  limit?: Omit<AdaptiveLimitOptions, "max">;
  /** The platform's own calls carry this token in `x-keel-internal-call` and are never refused. */
  internalToken?: string;
  /** The event-loop delay gate (see overload.ts); absent or `maxLagMs` 0 = off. */
  lag?: OverloadGateOptions;
  now?: () => number;
}

/** Health, readiness and metrics: what load balancers and monitoring poll, most of all under load. */
export const NEVER_REFUSED =
  /^\/(?:health|api\/v1\/health|metrics|v2\/health\/(?:live|ready)|v2\/models\/[^/]+(?:\/versions\/[^/]+)?\/ready)$/;

/**
 * Admission control, before the body is read or any store is touched: at most `limit`
 * requests run at once in this process, where the limit adapts to what the server carries
 * (admission-limit.ts: cut when only queueing grows, so admitted requests keep their latency
 * within about 1.5x of normal). One more is refused at once with 503 TEMPORARILY_UNAVAILABLE
 * and `Retry-After`, so an overload gets fast refusals instead of every request slowing down
 * together. Health, readiness and metrics routes and the platform's own calls (the internal
 * token) are always admitted and not counted. In a Lambda container (one request at a time,
 * API Gateway throttles in front) the limit's floor is never reached.
 */
export function admission(opts: AdmissionOptions): MiddlewareHandler {
  if (opts.maxInFlight <= 0 && !(opts.lag && opts.lag.maxLagMs > 0)) return (_, next) => next();
  const now = opts.now ?? (() => performance.now());
  if (opts.mode === "classes" && opts.maxInFlight > 0 && opts.classes)
    return classAdmission(
      new ClassAdmission({
        ...opts.classes,
        loop: opts.classes.watchLoop ? eventLoopLag() : opts.classes.loop,
        now,
      }),
      opts.internalToken,
    );
  const limit =
    opts.maxInFlight <= 0
      ? undefined
      : new AdaptiveLimit(
          // `front` is decided in the local server's listener (admission-front.ts); here it is the fixed cap.
          opts.mode === "fixed" || opts.mode === "front"
            ? { max: opts.maxInFlight, min: opts.maxInFlight }
            : { waitMs: loopWait(), ...opts.limit, max: opts.maxInFlight, now: opts.limit?.now ?? now },
        );
  const gate = overloadGate(opts.lag ?? { maxLagMs: 0 });
  return async (c, next) => {
    if (NEVER_REFUSED.test(c.req.path)) return next();
    if (opts.internalToken && c.req.header(INTERNAL_CALL_HEADER) === opts.internalToken) return next();
    if (gate.overloaded())
      return refuse(c, "the server is overloaded (event-loop delay above KEEL_MAX_EVENT_LOOP_LAG_MS)");
    if (!limit) return next();
    if (!limit.tryAcquire())
      return refuse(
        c,
        `the server is at its limit of ${limit.state().limit} requests at once (it adapts to the load it carries; ceiling KEEL_MAX_IN_FLIGHT=${opts.maxInFlight})`,
      );
    const t0 = now();
    try {
      await next();
    } finally {
      limit.release(now() - t0);
    }
  };
}

/**
 * Admission per route class (admission-classes.ts): a request runs at once if its class has a
 * place, waits in the class's bounded queue otherwise, and is refused at once (503 +
 * Retry-After, no await before the answer) when the queue is full or standing above its
 * sojourn target. Exempt as in the other modes: health, metrics, the platform's own calls.
 */
function classAdmission(gate: ClassAdmission, internalToken: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    const path = c.req.path;
    if (NEVER_REFUSED.test(path)) return next();
    if (internalToken && c.req.header(INTERNAL_CALL_HEADER) === internalToken) return next();
    const cls = routeClass(c.req.method, path);
    const admitted = gate.admit(cls);
    if (admitted === "refused") return refuse(c, CLASS_REFUSAL[cls]);
    if (admitted !== "run") await admitted;
    try {
      await next();
    } finally {
      gate.release(cls);
    }
  };
}

const CLASS_REFUSAL = Object.fromEntries(
  ROUTE_CLASSES.map((cls) => [
    cls,
    `the server is at its limit for ${cls} requests (KEEL_ADMISSION_LIMITS) and their queue is full or not draining`,
  ]),
) as Record<RouteClass, string>;

/** The event loop's mean delay since the last read (its own histogram, apart from the lag gate's). */
function loopWait(): () => number {
  const lag = eventLoopLag();
  return () => {
    const ms = lag.meanMs?.() ?? 0;
    lag.reset();
    return ms;
  };
}

/** 503 with Retry-After, in the shape the path's protocol uses: `{error}` for KServe v2, MLflow's otherwise. */
function refuse(c: Context, why: string): Response {
  const message = `${why}; retry later`;
  const headers = { "Retry-After": String(RETRY_AFTER_SECONDS) };
  return c.req.path.startsWith("/v2/")
    ? c.json({ error: message }, 503, headers)
    : c.json(errorBody("TEMPORARILY_UNAVAILABLE", message), 503, headers);
}
