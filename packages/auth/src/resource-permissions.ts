import type { AuditLog } from "@keel/audit";
import { canonicalPrincipal, KeelError } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";

/** MLflow's permission levels, weakest first (NO_PERMISSIONS grants nothing). */
export const LEVELS = ["NO_PERMISSIONS", "READ", "EDIT", "MANAGE"] as const;
export type Level = (typeof LEVELS)[number];
/** What a user holds on a resource nobody granted them anything on (MLflow's default_permission). */
export const DEFAULT_LEVEL: Level = "READ";

export type ResourceType = "experiment" | "registered_model";

export interface ResourceGrant {
  type: ResourceType;
  /** experiment id, or registered model name */
  id: string;
  username: string;
  permission: Level;
}

export function parseLevel(value: unknown): Level {
  if (typeof value === "string" && (LEVELS as readonly string[]).includes(value)) return value as Level;
  throw new KeelError(
    "INVALID_PARAMETER_VALUE",
    `permission must be one of ${LEVELS.join(", ")}, got ${String(value)}`,
  );
}

export const atLeast = (held: Level, needed: Level) => LEVELS.indexOf(held) >= LEVELS.indexOf(needed);

const pk = (username: string) => `AUTH#GRANTS#${username}`;
const sk = (type: ResourceType, id: string) => `${type}#${id}`;

/**
 * Team scoping as MLflow's auth plugin does it: READ / EDIT / MANAGE per experiment and per
 * registered model and user, one item per grant under the user's partition.
 */
export class ResourcePermissions {
  constructor(
    private readonly store: MetadataStore,
    private readonly audit?: AuditLog,
  ) {}

  async level(type: ResourceType, id: string, username: string): Promise<Level> {
    const item = await this.store.get({ pk: pk(username), sk: sk(type, id) });
    return (item?.permission as Level | undefined) ?? DEFAULT_LEVEL;
  }

  async get(type: ResourceType, id: string, rawUser: string): Promise<ResourceGrant> {
    const username = canonicalPrincipal(rawUser);
    const item = await this.store.get({ pk: pk(username), sk: sk(type, id) });
    if (!item)
      throw new KeelError("RESOURCE_DOES_NOT_EXIST", `no ${type} permission for ${username} on ${id}`);
    return { type, id, username, permission: item.permission as Level };
  }

  async put(grant: ResourceGrant, mode: "create" | "update" | "upsert"): Promise<ResourceGrant> {
    const username = canonicalPrincipal(grant.username);
    const key = { pk: pk(username), sk: sk(grant.type, grant.id) };
    const condition =
      mode === "create"
        ? { exists: false as const }
        : mode === "update"
          ? { exists: true as const }
          : undefined;
    try {
      await this.store.put(
        { ...key, type: grant.type, id: grant.id, permission: grant.permission },
        { condition },
      );
    } catch (e) {
      if ((e as KeelError).code !== "ABORTED") throw e;
      throw mode === "create"
        ? new KeelError(
            "RESOURCE_ALREADY_EXISTS",
            `${username} already has a permission on ${grant.type} ${grant.id}`,
          )
        : new KeelError(
            "RESOURCE_DOES_NOT_EXIST",
            `no ${grant.type} permission for ${username} on ${grant.id}`,
          );
    }
    const out = { ...grant, username };
    await this.audit?.append({
      action: `auth.permission.${mode}`,
      resource: `${grant.type}:${grant.id}`,
      state: out,
    });
    return out;
  }

  async remove(type: ResourceType, id: string, rawUser: string): Promise<void> {
    const username = canonicalPrincipal(rawUser);
    await this.get(type, id, username);
    await this.store.delete({ pk: pk(username), sk: sk(type, id) });
    await this.audit?.append({
      action: "auth.permission.delete",
      resource: `${type}:${id}`,
      state: { username },
    });
  }

  async forUser(rawUser: string): Promise<ResourceGrant[]> {
    const username = canonicalPrincipal(rawUser);
    const items = await this.store.queryAll({ pk: pk(username) });
    return items.map((i) => ({
      type: i.type as ResourceType,
      id: String(i.id),
      username,
      permission: i.permission as Level,
    }));
  }
}
