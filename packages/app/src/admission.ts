import { errorBody, RETRY_AFTER_SECONDS } from "@keel/core";
import type { Context, MiddlewareHandler } from "hono";
import { type OverloadGateOptions, overloadGate } from "./overload";

export interface AdmissionOptions {
  /** Requests run at once in this process; 0 = no limit. */
  maxInFlight: number;
  /** The event-loop delay gate (see overload.ts); absent or `maxLagMs` 0 = off. */
  lag?: OverloadGateOptions;
}

/**
 * Admission control, before the body is read or any store is touched: at most `maxInFlight`
 * requests run at once in this process, and while the event loop is overloaded (its median
 * delay over the last window is above `KEEL_MAX_EVENT_LOOP_LAG_MS`) new requests are refused
 * too. A refusal is answered at once with 503 TEMPORARILY_UNAVAILABLE and `Retry-After`, so an
 * overload gets fast refusals while admitted requests keep their latency, instead of every
 * request slowing down together. Health checks are always admitted. In a Lambda container
 * (one request at a time, API Gateway throttles in front) both are off.
 */
export function admission(opts: AdmissionOptions): MiddlewareHandler {
  const { maxInFlight } = opts;
  const gate = overloadGate(opts.lag ?? { maxLagMs: 0 });
  let active = 0;
  return async (c, next) => {
    if (c.req.path === "/health") return next();
    if (maxInFlight > 0 && active >= maxInFlight)
      return refuse(c, `the server is handling its limit of ${maxInFlight} requests (KEEL_MAX_IN_FLIGHT)`);
    if (gate.overloaded())
      return refuse(c, "the server is overloaded (event-loop delay above KEEL_MAX_EVENT_LOOP_LAG_MS)");
    active++;
    try {
      await next();
    } finally {
      active--;
    }
  };
}

function refuse(c: Context, why: string): Response {
  return c.json(errorBody("TEMPORARILY_UNAVAILABLE", `${why}; retry later`), 503, {
    "Retry-After": String(RETRY_AFTER_SECONDS),
  });
}
