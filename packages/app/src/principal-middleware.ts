import { newToken, ROLES, withContext } from "@keel/core";
import type { MiddlewareHandler } from "hono";

/**
 * Sets the request context (principal, request id) for everything a request does.
 *
 * In AWS, API Gateway has already verified the caller: a JWT authorizer's claims or the IAM
 * caller's ARN arrive in the Lambda event and are trusted. Locally there is no identity
 * provider, so the principal comes from (in order) the `x-keel-principal` header, HTTP Basic
 * user (MLFLOW_TRACKING_USERNAME), the `sub` of a Bearer JWT (MLFLOW_TRACKING_TOKEN, not
 * verified locally), or `defaultPrincipal`.
 */
export function requestContext(defaultPrincipal: string): MiddlewareHandler {
  return async (c, next) => {
    const requestId = c.req.header("x-request-id") ?? newToken();
    const principal =
      principalFromLambda(c.env) ?? principalFromHeaders(c.req.header.bind(c.req)) ?? defaultPrincipal;
    c.header("x-request-id", requestId);
    return withContext({ principal, requestId, roles: ROLES, kind: "local" }, () => next());
  };
}

function principalFromLambda(env: unknown): string | undefined {
  const ctx = (env as { event?: { requestContext?: Record<string, unknown> } } | undefined)?.event
    ?.requestContext;
  const authorizer = ctx?.authorizer as
    | { jwt?: { claims?: Record<string, unknown> }; iam?: { userArn?: string; callerId?: string } }
    | undefined;
  const claims = authorizer?.jwt?.claims;
  if (claims) return String(claims.email ?? claims["cognito:username"] ?? claims.sub);
  if (authorizer?.iam) return authorizer.iam.userArn ?? authorizer.iam.callerId;
  return undefined;
}

export function principalFromHeaders(header: (name: string) => string | undefined): string | undefined {
  const explicit = header("x-keel-principal");
  if (explicit) return explicit;
  const auth = header("authorization");
  if (!auth) return undefined;
  const [scheme, value] = auth.split(" ", 2);
  if (!value) return undefined;
  if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    return decoded.split(":", 1)[0] || undefined;
  }
  if (scheme.toLowerCase() === "bearer") {
    const parts = value.split(".");
    if (parts.length === 3) {
      try {
        const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
        if (typeof payload.sub === "string") return payload.email ?? payload.sub;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
