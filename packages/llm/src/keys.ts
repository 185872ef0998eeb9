import { randomBytes } from "node:crypto";
import { type AuditLog, auditFirst } from "@keel/audit";
import { type KeyInput, keyInputSchema, type VirtualKey } from "@keel/contract";
import { type Clock, currentPrincipal, sha256 } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { LlmError } from "./errors";
import { ReadThroughCache } from "./read-through-cache";

/** Virtual keys start with this (the platform's identity middleware leaves them to the gateway). */
export const VIRTUAL_KEY_PREFIX = "sk-keel-";
const PK = "llm#key";

export type { KeyInput, VirtualKey };

/**
 * Virtual keys: random 32-byte secrets shown once, stored only as their SHA-256 (the item's
 * sort key), with team, owner, allowed models, limits and expiry; revocation is immediate in
 * this process and everywhere else within `ttlMs` (the lookup cache) and one read of the store:
 * unlike teams and routes, an expired key record is never served while it is re-read.
 */
export class KeyStore {
  private readonly cache: ReadThroughCache<VirtualKey | null>;
  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    ttlMs = 2000,
  ) {
    this.cache = new ReadThroughCache(
      async (hash) => ((await this.store.get({ pk: PK, sk: hash }))?.key as VirtualKey | undefined) ?? null,
      // Never past ttlMs, even while a re-read is under way: a key revoked by another process
      // (another Lambda instance) is refused within ttlMs of it. A key in use is re-read in the
      // background from ttlMs / 2, so its callers do not wait for that read.
      { ttlMs, maxStaleMs: ttlMs, now: () => clock.now() },
    );
  }

  async create(input: KeyInput): Promise<{ key: string; record: VirtualKey }> {
    const parsed = keyInputSchema.safeParse(input);
    if (!parsed.success)
      throw new LlmError(
        "invalid",
        `invalid key: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
    const v = parsed.data;
    const secret = `${VIRTUAL_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
    const hash = sha256(secret);
    const now = this.clock.now();
    const record: VirtualKey = {
      id: `key-${hash.slice(0, 16)}`,
      name: v.name,
      team: v.team,
      createdAt: now,
      createdBy: currentPrincipal(),
      hint: `${secret.slice(0, VIRTUAL_KEY_PREFIX.length + 4)}...`,
      ...(v.user ? { user: v.user } : {}),
      ...(v.models ? { models: v.models } : {}),
      ...(v.limits ? { limits: v.limits } : {}),
      ...(v.expiresAt || v.ttlDays ? { expiresAt: v.expiresAt ?? now + (v.ttlDays ?? 0) * 86_400_000 } : {}),
    };
    await auditFirst(
      this.audit,
      { action: "llm.key.create", resource: `llm-key:${record.id}`, state: record },
      (mark) => this.store.put({ pk: PK, sk: hash, key: record, ...mark }, { condition: { exists: false } }),
    );
    return { key: secret, record };
  }

  /** The live key a secret names; 401 for unknown, revoked or expired keys. */
  async authenticate(secret: string): Promise<VirtualKey> {
    const now = this.authenticateNow(secret);
    return now instanceof Promise ? await now : now;
  }

  /** As `authenticate`, synchronously when the key's record is cached (no promise on the request path). */
  authenticateNow(secret: string): VirtualKey | Promise<VirtualKey> {
    const hash = sha256(secret);
    const hit = this.cache.peek(hash);
    return hit ? this.live(hit.value) : this.cache.get(hash).then((r) => this.live(r));
  }

  private live(record: VirtualKey | null): VirtualKey {
    if (!record) throw new LlmError("unauthenticated", "Incorrect API key provided.", "invalid_api_key");
    if (record.revokedAt)
      throw new LlmError("unauthenticated", `API key ${record.id} was revoked.`, "invalid_api_key");
    if (record.expiresAt && record.expiresAt <= this.clock.now())
      throw new LlmError("unauthenticated", `API key ${record.id} has expired.`, "expired_api_key");
    return record;
  }

  async list(team?: string): Promise<VirtualKey[]> {
    const all = (await this.store.queryAll({ pk: PK })).map((i) => i.key as VirtualKey);
    return all.filter((k) => !team || k.team === team).sort((a, b) => a.createdAt - b.createdAt);
  }

  async revoke(id: string): Promise<VirtualKey> {
    const m = /^key-([0-9a-f]{16})$/.exec(id);
    const item = m ? (await this.store.query({ pk: PK, prefix: m[1], limit: 1 })).items[0] : undefined;
    if (!item) throw new LlmError("not_found", `no key ${id}`, "key_not_found");
    const record: VirtualKey = { ...(item.key as VirtualKey), revokedAt: this.clock.now() };
    await auditFirst(
      this.audit,
      { action: "llm.key.revoke", resource: `llm-key:${id}`, state: record },
      (mark) => this.store.put({ ...item, key: record, ...mark }),
    );
    this.cache.set(item.sk, record);
    return record;
  }
}
