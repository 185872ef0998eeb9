import { AsyncLocalStorage } from "node:async_hooks";
import { KeelError } from "./errors";

/** The roles Keel knows (JWT group claims in AWS, the users store in `keel dev --auth`). */
export const ROLES = ["viewer", "data-scientist", "approver", "deployer", "admin", "auditor"] as const;
export type Role = (typeof ROLES)[number];

/**
 * Who made a request, with which roles, under which request id. The HTTP layer sets it once
 * per request (from the verified identity in AWS, the users store with `keel dev --auth`, or
 * the laptop's single user); every write records the principal, and services check roles
 * with `requireRole` (the rule lives in the service, not only at the edge).
 */
export interface RequestContext {
  principal: string;
  requestId: string;
  /** The caller's roles. The laptop's single-user mode and in-process callers hold every role. */
  roles: readonly Role[];
  /** How the caller was identified: `user` (a person), `service` (an IAM role / machine), `local`. */
  kind?: "user" | "service" | "local";
  /** A name for people to read (e.g. a verified e-mail); never used for decisions. */
  display?: string;
  /**
   * Teams the caller acts for, set only by code that verified them (the LLM gateway for a
   * virtual key's team); never read from a request. Team-scoped data (e.g. knowledge base
   * documents) is readable by these teams as by their members.
   */
  teams?: readonly string[];
}

const storage = new AsyncLocalStorage<RequestContext>();

export function withContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext {
  return (
    storage.getStore() ?? {
      principal: process.env.USER ?? "system",
      requestId: "internal",
      roles: ROLES,
      kind: "local",
    }
  );
}

export function currentPrincipal(): string {
  return currentContext().principal;
}

export function hasRole(...anyOf: Role[]): boolean {
  const roles = currentContext().roles;
  return anyOf.some((r) => roles.includes(r));
}

/** Throws 403 PERMISSION_DENIED naming the missing role unless the caller holds one of `anyOf`. */
export function requireRole(action: string, ...anyOf: Role[]): void {
  if (hasRole(...anyOf)) return;
  const { principal } = currentContext();
  throw new KeelError(
    "PERMISSION_DENIED",
    `${principal} may not ${action}: requires role ${anyOf.join(" or ")}`,
  );
}

/** Longest principal Keel accepts (an IAM role ARN or `<issuer>|<sub>` fits easily). */
export const MAX_PRINCIPAL_LENGTH = 512;

/**
 * The one canonical form of a principal, so `Alice`, `alice` and `ａｌｉｃｅ` are one person:
 * Unicode NFKC, case-folded (lower, upper, lower: `ß`, `ẞ` and `SS` meet), trimmed. Whitespace or
 * control/format/unassigned characters inside are refused (400) rather than silently removed.
 */
export function canonicalPrincipal(raw: string): string {
  const folded = raw.normalize("NFKC").toLowerCase().toUpperCase().toLowerCase().normalize("NFKC").trim();
  if (!folded) throw new KeelError("INVALID_PARAMETER_VALUE", "principal must not be empty");
  if (folded.length > MAX_PRINCIPAL_LENGTH)
    throw new KeelError(
      "INVALID_PARAMETER_VALUE",
      `principal is longer than ${MAX_PRINCIPAL_LENGTH} characters`,
    );
  if (/[\s\p{C}\p{Z}]/u.test(folded))
    throw new KeelError(
      "INVALID_PARAMETER_VALUE",
      `principal ${JSON.stringify(raw)} contains whitespace or control characters`,
    );
  return folded;
}

/**
 * Refuses callers that are not a person (IAM roles and other machines, kind `service`):
 * approvals and other four-eyes decisions need someone accountable.
 */
export function requireHuman(action: string): void {
  const { principal, kind } = currentContext();
  if (kind !== "service") return;
  throw new KeelError(
    "PERMISSION_DENIED",
    `${principal} may not ${action}: requires a person (kind user); service identities cannot`,
  );
}
