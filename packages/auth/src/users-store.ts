import type { AuditLog } from "@keel/audit";
import { canonicalPrincipal, KeelError, ROLES, type Role } from "@keel/core";
import { type Item, isConditionFailed, type MetadataStore } from "@keel/metadata";
import { hashSecret, newApiToken, type SecretHash, tokenUser, verifySecret } from "./tokens";

/** One user of `keel dev --auth`, as lists and the MLflow users API show it. */
export interface User {
  name: string;
  roles: Role[];
  createdAt: number;
}

const USERS_PK = "AUTH#USERS";
const key = (name: string) => ({ pk: USERS_PK, sk: name });

export function parseRoles(list: string | readonly string[]): Role[] {
  const names = (typeof list === "string" ? list.split(",") : [...list]).map((r) => r.trim()).filter(Boolean);
  const unknown = names.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0)
    throw new KeelError(
      "INVALID_PARAMETER_VALUE",
      `unknown role(s) ${unknown.join(", ")}: roles are ${ROLES.join(", ")}`,
    );
  return [...new Set(names)] as Role[];
}

/**
 * The users of `keel dev --auth`, kept in the metadata store (one item per user, keyed by the
 * canonical name). Only a salted scrypt hash of each token is stored; the token itself is
 * returned once, by `add` and `rotate`. Every change is audited.
 */
export class UsersStore {
  /**
   * Users as last read, for authenticating without a store read per request. Every change
   * goes through this object (the one server owns its data dir), which drops the entry, so a
   * removed or rotated token stops working at once.
   */
  private readonly cache = new Map<string, { item: Item | undefined; until: number }>();
  /** Bumped by every change: a read that overlapped a change is not cached. */
  private generation = 0;

  constructor(
    private readonly store: MetadataStore,
    private readonly audit?: AuditLog,
  ) {}

  private async item(name: string): Promise<Item | undefined> {
    const hit = this.cache.get(name);
    if (hit && hit.until > Date.now()) return hit.item;
    const started = this.generation;
    const item = await this.store.get(key(name));
    if (started !== this.generation) return item;
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(name, { item, until: Date.now() + 30_000 });
    return item;
  }

  /** Called after every write to a user. */
  private forget(name: string): void {
    this.generation++;
    this.cache.delete(name);
  }

  async add(
    rawName: string,
    roles: Role[],
    opts: { password?: string } = {},
  ): Promise<{ user: User; token: string }> {
    const name = canonicalPrincipal(rawName);
    const token = opts.password ?? newApiToken(name);
    const user: User = { name, roles, createdAt: Date.now() };
    try {
      await this.store.put({ ...key(name), ...user, ...hashSecret(token) }, { condition: { exists: false } });
    } catch (e) {
      if (isConditionFailed(e)) throw new KeelError("RESOURCE_ALREADY_EXISTS", `user ${name} already exists`);
      throw e;
    }
    this.forget(name);
    await this.audit?.append({ action: "auth.user.create", resource: `user:${name}`, state: user });
    return { user, token };
  }

  async get(rawName: string): Promise<User | undefined> {
    const item = await this.store.get(key(canonicalPrincipal(rawName)));
    return item ? toUser(item) : undefined;
  }

  async require(rawName: string): Promise<User> {
    const user = await this.get(rawName);
    if (!user)
      throw new KeelError("RESOURCE_DOES_NOT_EXIST", `user ${canonicalPrincipal(rawName)} does not exist`);
    return user;
  }

  async list(): Promise<User[]> {
    return (await this.store.queryAll({ pk: USERS_PK, consistent: true })).map(toUser);
  }

  async count(): Promise<number> {
    return (await this.store.query({ pk: USERS_PK, limit: 1, consistent: true })).items.length;
  }

  async remove(rawName: string): Promise<void> {
    const user = await this.require(rawName);
    await this.store.delete(key(user.name));
    this.forget(user.name);
    await this.audit?.append({ action: "auth.user.delete", resource: `user:${user.name}` });
  }

  /** Replaces a user's token (or sets the given password); the old one stops working at once. */
  async rotate(rawName: string, opts: { password?: string } = {}): Promise<string> {
    const user = await this.require(rawName);
    const token = opts.password ?? newApiToken(user.name);
    const h = hashSecret(token);
    await this.store.update(
      key(user.name),
      {
        set: [
          ["salt", h.salt],
          ["hash", h.hash],
        ],
      },
      { condition: { exists: true } },
    );
    this.forget(user.name);
    await this.audit?.append({ action: "auth.user.rotate", resource: `user:${user.name}` });
    return token;
  }

  async setRoles(rawName: string, roles: Role[]): Promise<User> {
    const user = await this.require(rawName);
    await this.store.update(key(user.name), { set: [["roles", roles]] }, { condition: { exists: true } });
    this.forget(user.name);
    await this.audit?.append({ action: "auth.user.roles", resource: `user:${user.name}`, state: { roles } });
    return { ...user, roles };
  }

  /**
   * The user a credential belongs to: `name` + secret (HTTP Basic), or a token alone (Bearer,
   * which names its user). Undefined for anything that does not verify.
   */
  async authenticate(secret: string, rawName?: string): Promise<User | undefined> {
    const claimed = rawName ?? tokenUser(secret);
    if (!claimed) return undefined;
    let name: string;
    try {
      name = canonicalPrincipal(claimed);
    } catch {
      return undefined;
    }
    const item = await this.item(name);
    if (!item || typeof item.salt !== "string" || typeof item.hash !== "string") return undefined;
    return verifySecret(secret, item as unknown as SecretHash) ? toUser(item) : undefined;
  }
}

function toUser(item: Item): User {
  return { name: item.sk, roles: (item.roles as Role[]) ?? [], createdAt: Number(item.createdAt ?? 0) };
}
