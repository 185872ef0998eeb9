import type { AccessControl } from "@keel/auth";
import { newToken, withContext } from "@keel/core";
import type { MiddlewareHandler } from "hono";

/**
 * Sets the request context (principal, roles, kind, request id) for everything a request
 * does, from the identity the access control finds: in Lambda only the API Gateway
 * authorizer's verified claims or IAM caller (headers are never trusted there); with
 * `keel dev --auth` a user of the users store; in plain `keel dev` the laptop's single user.
 * Principals are canonical (`Alice` and `alice` are one person).
 */
export function requestContext(access: AccessControl): MiddlewareHandler {
  // A random prefix per process and a counter: unique without drawing random bytes per request.
  const prefix = newToken(9);
  let seq = 0;
  return async (c, next) => {
    const requestId = c.req.header("x-request-id") ?? `${prefix}${(++seq).toString(36)}`;
    c.header("x-request-id", requestId);
    const identity = await access.identify(c);
    return withContext({ ...identity, requestId }, () => next());
  };
}
