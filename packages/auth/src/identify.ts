import {
  canonicalPrincipal,
  type KeelConfig,
  KeelError,
  type RequestContext,
  ROLES,
  type Role,
} from "@keel/core";
import type { UsersStore } from "./users-store";

/** Who a request is from, before a request id is attached. `anonymous` callers hold no roles. */
export type Identity = Omit<RequestContext, "requestId"> & { anonymous?: boolean };

export const ANONYMOUS: Identity = { principal: "anonymous", roles: [], kind: "user", anonymous: true };

type Header = (name: string) => string | undefined;

interface LambdaAuthorizer {
  jwt?: { claims?: Record<string, unknown> };
  iam?: { userArn?: string; callerId?: string; accountId?: string };
}

/** The Lambda event hono/aws-lambda passes as the app's env, when the app runs in Lambda. */
export function lambdaRequestContext(env: unknown): Record<string, unknown> | undefined {
  const ctx = (env as { event?: { requestContext?: unknown } } | undefined)?.event?.requestContext;
  return ctx && typeof ctx === "object" ? (ctx as Record<string, unknown>) : undefined;
}

/** True when the app serves a Lambda: headers are then never trusted for identity. */
export function runsInLambda(env: unknown): boolean {
  return lambdaRequestContext(env) !== undefined || Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);
}

/**
 * The identity API Gateway verified: a JWT authorizer's claims or the IAM (SigV4) caller.
 * Anonymous when the event carries neither (the middleware then answers 401).
 */
export function identityFromLambda(env: unknown, config: KeelConfig["auth"]): Identity {
  const authorizer = lambdaRequestContext(env)?.authorizer as LambdaAuthorizer | undefined;
  const claims = authorizer?.jwt?.claims;
  if (claims) return identityFromClaims(claims, config.jwtGroupClaim);
  const arn = authorizer?.iam?.userArn;
  if (arn)
    return {
      principal: canonicalPrincipal(iamPrincipal(arn)),
      roles: knownRoles(config.iamRoles),
      kind: "service",
    };
  return ANONYMOUS;
}

/**
 * A person from verified JWT claims: `<iss>|<sub>` (stable across ID and access tokens of one
 * person); the e-mail is kept for display only, and only when `email_verified` is true.
 */
export function identityFromClaims(claims: Record<string, unknown>, groupClaim: string): Identity {
  const iss = claims.iss;
  const sub = claims.sub;
  if (typeof iss !== "string" || !iss || typeof sub !== "string" || !sub)
    throw new KeelError("UNAUTHENTICATED", "the token has no issuer (iss) and subject (sub) claims");
  const verified = claims.email_verified === true || claims.email_verified === "true";
  return {
    principal: canonicalPrincipal(`${iss}|${sub}`),
    roles: knownRoles(groupList(claims[groupClaim])),
    kind: "user",
    display: verified && typeof claims.email === "string" ? claims.email : undefined,
  };
}

/**
 * An IAM caller is its role, not the session name it chose: an assumed-role ARN
 * `arn:aws:sts::<acct>:assumed-role/<role>/<session>` becomes `arn:aws:iam::<acct>:role/<role>`.
 */
export function iamPrincipal(arn: string): string {
  const m = /^arn:(aws[a-z-]*):sts::(\d+):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
}

/** Group claims arrive as arrays, or (API Gateway HTTP APIs) flattened to "[a b]" or "a,b". */
function groupList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== "string") return [];
  return value
    .replace(/^\[|\]$/g, "")
    .split(/[\s,]+/)
    .filter(Boolean);
}

/** Unknown group names are ignored, not errors: an IdP has many groups that are not Keel roles. */
function knownRoles(groups: readonly string[]): Role[] {
  return ROLES.filter((r) => groups.includes(r));
}

/**
 * `keel dev --auth`: a user of the users store, by `Authorization: Bearer <token>` or HTTP
 * Basic `<name>:<token>` (what the mlflow client sends for MLFLOW_TRACKING_TOKEN or
 * MLFLOW_TRACKING_USERNAME/PASSWORD). Headers such as `x-keel-principal` are ignored.
 * Anonymous without credentials; 401 for credentials that do not verify.
 */
export async function identityFromUsers(header: Header, users: UsersStore): Promise<Identity> {
  const credentials = parseAuthorization(header("authorization"));
  if (!credentials) return ANONYMOUS;
  const user = await users.authenticate(credentials.secret, credentials.name);
  if (!user) throw new KeelError("UNAUTHENTICATED", "invalid credentials: unknown user or wrong token");
  return { principal: user.name, roles: user.roles, kind: "user" };
}

function parseAuthorization(value: string | undefined): { name?: string; secret: string } | undefined {
  if (!value) return undefined;
  const [scheme, rest] = [value.slice(0, value.indexOf(" ")), value.slice(value.indexOf(" ") + 1).trim()];
  if (!rest) return undefined;
  if (scheme.toLowerCase() === "bearer") return { secret: rest };
  if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(rest, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) throw new KeelError("UNAUTHENTICATED", "HTTP Basic credentials must be <name>:<token>");
    return { name: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  throw new KeelError("UNAUTHENTICATED", `unsupported authorization scheme '${scheme}': use Bearer or Basic`);
}

/**
 * The laptop's single-user mode (plain `keel dev`): nothing is verified and every caller holds
 * every role; the name comes from `x-keel-principal`, the HTTP Basic user, the `sub` of a
 * Bearer JWT, or the default. Names are canonical, so `Alice` and `alice` are one person.
 */
export function identityFromLaptop(header: Header, defaultPrincipal: string): Identity {
  return {
    principal: canonicalPrincipal(laptopName(header) ?? defaultPrincipal),
    roles: ROLES,
    kind: "local",
  };
}

function laptopName(header: Header): string | undefined {
  const explicit = header("x-keel-principal");
  if (explicit) return utf8(explicit);
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
    if (parts.length !== 3) return undefined;
    try {
      const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
      if (typeof payload.sub === "string") return payload.email ?? payload.sub;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Node hands header bytes over as Latin-1 characters; a name sent as UTF-8 is decoded back. */
function utf8(value: string): string {
  return /[\u0080-\u00ff]/.test(value) ? Buffer.from(value, "latin1").toString("utf8") : value;
}
