import type { Role } from "@keel/core";

/**
 * What a route needs. `public` routes (health checks) need no identity at all; every other
 * route needs an authenticated caller holding a role that grants its permission.
 */
export const PERMISSIONS = [
  "public",
  "read",
  "write",
  "infer",
  "approve",
  "deploy",
  "admin",
  "audit-read",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Roles → the permissions they grant (the table in docs/registry.md). */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  viewer: ["read"],
  "data-scientist": ["read", "write", "infer"],
  approver: ["read", "approve"],
  deployer: ["read", "deploy", "infer"],
  admin: ["read", "write", "infer", "approve", "deploy", "admin", "audit-read"],
  auditor: ["read", "audit-read"],
};

export function rolesGranting(permission: Permission): Role[] {
  return (Object.keys(ROLE_PERMISSIONS) as Role[]).filter((r) => ROLE_PERMISSIONS[r].includes(permission));
}

export function grants(roles: readonly Role[], permission: Permission): boolean {
  return permission === "public" || roles.some((r) => ROLE_PERMISSIONS[r]?.includes(permission));
}
