import { type AuditLog, announce } from "@keel/audit";
import { BoundedCache, type Clock, currentPrincipal, digest, parseWith, requireRole } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import { z } from "zod";
import { missing, ServingError } from "../errors";
import {
  IN_PROCESS_BACKEND,
  type RemoteBackendSpec,
  remoteBackendSpecSchema,
} from "../router/backends/inference-backend";

const key = (name: string) => ({ pk: `BACKEND#${name}`, sk: "META" });

export const backendNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, "must be 1-63 lowercase letters, digits, '.', '_' or '-'")
  .refine((n) => n !== IN_PROCESS_BACKEND, `'${IN_PROCESS_BACKEND}' is built in`);

export const registerBackendSchema = z.object({
  name: backendNameSchema,
  spec: remoteBackendSpecSchema,
  description: z.string().max(500).default(""),
});

export interface RegisteredBackend {
  name: string;
  spec: RemoteBackendSpec;
  description: string;
  registered_by: string;
  created_at: number;
  updated_at: number;
}

/**
 * Serving backends an admin registered by name (Triton on the GPU nodes, a SageMaker
 * endpoint). Production deployments may only name these (or the built-in `in-process`),
 * never a free-form URL, so where production traffic goes is decided by an admin, audited.
 */
export class BackendRegistry {
  /** Specs by backend name (names come from deployments): LRU of 256, each kept `cacheTtlMs`. */
  private readonly cache: BoundedCache<string, RemoteBackendSpec>;

  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    cacheTtlMs = 1_000,
  ) {
    this.cache = new BoundedCache({ maxEntries: 256, ttlMs: cacheTtlMs, now: () => clock.now() });
  }

  async list(): Promise<RegisteredBackend[]> {
    const items = await this.store.queryAll({ pk: "BACKENDS", index: "gsi1" });
    return items.map((i) => i.backend as RegisteredBackend);
  }

  async get(name: string): Promise<RegisteredBackend> {
    const item = await this.store.get(key(name));
    if (!item)
      throw missing(`backend '${name}' is not registered (an admin registers it under /api/v1/backends)`);
    return item.backend as RegisteredBackend;
  }

  /** The spec of a registered backend, cached briefly for the router's per-request path. */
  async spec(name: string): Promise<RemoteBackendSpec> {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const { spec } = await this.get(name);
    this.cache.set(name, spec);
    return spec;
  }

  /** Registers a backend, or replaces one (`replace`). Admin only; audited. */
  async put(input: unknown, opts: { replace?: boolean } = {}): Promise<RegisteredBackend> {
    requireRole("register serving backends", "admin");
    const body = parseWith(registerBackendSchema, input, "backend");
    const now = this.clock.now();
    const previous = opts.replace ? await this.get(body.name) : undefined;
    const b: RegisteredBackend = {
      ...body,
      registered_by: currentPrincipal(),
      created_at: previous?.created_at ?? now,
      updated_at: now,
    };
    const action = previous ? "update" : "create";
    // The event first, naming the backend's digest; the item carries the event's mark.
    const mark = await announce(this.audit, {
      action: `serving.backend.${action}`,
      resource: `backend:${b.name}`,
      state: { ...b, digest: backendDigest(b) },
    });
    try {
      await this.store.put(
        {
          ...key(b.name),
          ...mark,
          gsi1pk: "BACKENDS",
          gsi1sk: b.name,
          backend: JSON.parse(JSON.stringify(b)),
        },
        { condition: previous ? { exists: true } : { exists: false } },
      );
    } catch (e) {
      if (isConditionFailed(e))
        throw new ServingError("RESOURCE_ALREADY_EXISTS", `backend '${b.name}' is already registered`);
      throw e;
    }
    this.cache.delete(b.name);
    return b;
  }

  async remove(name: string, inUse: (name: string) => Promise<string[]>): Promise<void> {
    requireRole("remove serving backends", "admin");
    await this.get(name);
    const users = await inUse(name);
    if (users.length > 0)
      throw new ServingError(
        "INVALID_STATE",
        `backend '${name}' is used by deployment(s) ${users.join(", ")}; move them to another backend first`,
      );
    await this.audit.append({ action: "serving.backend.delete", resource: `backend:${name}`, state: {} });
    await this.store.delete(key(name));
    this.cache.delete(name);
  }
}

/** The digest of a registered backend as stored (its audit event names it). */
export function backendDigest(b: RegisteredBackend): string {
  return digest(JSON.parse(JSON.stringify(b)));
}
