import { errorBody, RETRY_AFTER_SECONDS } from "@keel/core";
import type { MiddlewareHandler } from "hono";

/**
 * Admission control: at most `maxInFlight` requests run at once in this process; one more is
 * answered at once with 503 TEMPORARILY_UNAVAILABLE and `Retry-After`, so an overload gets fast
 * refusals while admitted requests keep their latency, instead of every request slowing down
 * together. Health checks are always admitted. 0 = no limit (a Lambda container runs one
 * request at a time, and API Gateway throttles in front of it).
 */
export function admission(maxInFlight: number): MiddlewareHandler {
  let active = 0;
  return async (c, next) => {
    if (maxInFlight <= 0 || c.req.path === "/health") return next();
    if (active >= maxInFlight) {
      return c.json(
        errorBody(
          "TEMPORARILY_UNAVAILABLE",
          `the server is handling its limit of ${maxInFlight} requests (KEEL_MAX_IN_FLIGHT); retry later`,
        ),
        503,
        { "Retry-After": String(RETRY_AFTER_SECONDS) },
      );
    }
    active++;
    try {
      await next();
    } finally {
      active--;
    }
  };
}
