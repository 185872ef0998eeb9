import { randomBytes } from "node:crypto";
import { type AuditLog, auditFirst } from "@keel/audit";
import { type KeyInput, keyInputSchema, type VirtualKey } from "@keel/contract";
import { BoundedCache, type Clock, currentPrincipal, sha256 } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { LlmError } from "./errors";

/** Virtual keys start with this (the platform's identity middleware leaves them to the gateway). */
export const VIRTUAL_KEY_PREFIX = "sk-keel-";
const PK = "llm#key";

export type { KeyInput, VirtualKey };

/**
 * Virtual keys: random 32-byte secrets shown once, stored only as their SHA-256 (the item's
 * sort key), with team, owner, allowed models, limits and expiry; revocation is immediate in
 * this process and within `ttlMs` (the lookup cache) everywhere else.
 */
export class KeyStore {
  private readonly cache: BoundedCache<string, VirtualKey | null>;
  private readonly reading = new Map<string, Promise<VirtualKey | null>>();
  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    ttlMs = 2000,
  ) {
    this.cache = new BoundedCache({ maxEntries: 10_000, ttlMs, now: () => clock.now() });
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
    const hash = sha256(secret);
    let record = this.cache.get(hash);
    if (record === undefined) {
      // One read per key however many callers miss the cache at once (it expires under load too).
      let read = this.reading.get(hash);
      if (!read) {
        const p: Promise<VirtualKey | null> = this.store.get({ pk: PK, sk: hash }).then(
          (item) => {
            const r = item ? (item.key as VirtualKey) : null;
            // A revocation meanwhile replaced this read: its (older) answer is not cached.
            if (this.reading.get(hash) === p) {
              this.cache.set(hash, r);
              this.reading.delete(hash);
            }
            return r;
          },
          (e) => {
            if (this.reading.get(hash) === p) this.reading.delete(hash);
            throw e;
          },
        );
        read = p;
        this.reading.set(hash, p);
      }
      record = await read;
    }
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
    this.reading.delete(item.sk);
    this.cache.set(item.sk, record);
    return record;
  }
}
