import { type AuditLog, auditFirst } from "@keel/audit";
import { type Clock, currentPrincipal } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { LlmError } from "./errors";
import { ReadThroughCache } from "./read-through-cache";
import { assertRouteApproved, type ProductionRefusal } from "./route-approval";
import { type Route, type RouteInput, routeSchema } from "./routes";

const PK = "llm#route";

/**
 * Routes in the metadata store (every change audited first), over the routes configuration
 * gives (`KEEL_LLM_UPSTREAMS`, read-only; a stored route of the same name wins). Reads are
 * cached for `ttlMs` per process (refreshed in the background from half of it: read-through-cache.ts); this
 * process's own writes are seen at once.
 */
export class RouteStore {
  private readonly cache: ReadThroughCache<Route | null>;
  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly configured: Route[] = [],
    ttlMs = 2000,
    /** The registry's approval rule for deployments naming a registered model version. */
    private readonly refusal?: ProductionRefusal,
  ) {
    this.cache = new ReadThroughCache(
      async (model) => {
        const item = await this.store.get({ pk: PK, sk: model });
        return item
          ? routeSchema.parse(item.route)
          : (this.configured.find((r) => r.model === model) ?? null);
      },
      { ttlMs, now: () => clock.now(), maxEntries: 1000 },
    );
  }

  async get(model: string): Promise<Route | undefined> {
    return (await this.cache.get(model)) ?? undefined;
  }

  /** As `get`, synchronously when the route is cached (no promise on the request path). */
  getNow(model: string): Route | undefined | Promise<Route | undefined> {
    const hit = this.cache.peek(model);
    return hit ? (hit.value ?? undefined) : this.get(model);
  }

  async list(): Promise<Array<Route & { source: "api" | "config" }>> {
    const stored = (await this.store.queryAll({ pk: PK })).map((i) => routeSchema.parse(i.route));
    const names = new Set(stored.map((r) => r.model));
    return [
      ...stored.map((r) => ({ ...r, source: "api" as const })),
      ...this.configured.filter((r) => !names.has(r.model)).map((r) => ({ ...r, source: "config" as const })),
    ].sort((a, b) => a.model.localeCompare(b.model));
  }

  async put(input: RouteInput): Promise<Route> {
    const parsed = routeSchema.safeParse(input);
    if (!parsed.success)
      throw new LlmError(
        "invalid",
        `invalid route: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
      );
    const route: Route = { ...parsed.data, updatedAt: this.clock.now(), updatedBy: currentPrincipal() };
    const ids = route.deployments.map((d) => d.id);
    if (new Set(ids).size !== ids.length)
      throw new LlmError("invalid", "deployment ids must be unique in a route");
    await assertRouteApproved(route, this.refusal);
    await auditFirst(
      this.audit,
      { action: "llm.route.put", resource: `llm-route:${route.model}`, state: route },
      (mark) => this.store.put({ pk: PK, sk: route.model, route, ...mark }),
    );
    this.cache.set(route.model, route);
    return route;
  }

  async delete(model: string): Promise<void> {
    const item = await this.store.get({ pk: PK, sk: model });
    if (!item)
      throw new LlmError(
        "not_found",
        this.configured.some((r) => r.model === model)
          ? `route ${model} comes from KEEL_LLM_UPSTREAMS: change the configuration to remove it`
          : `no route ${model}`,
        "model_not_found",
      );
    await auditFirst(
      this.audit,
      { action: "llm.route.delete", resource: `llm-route:${model}`, state: {} },
      () => this.store.delete({ pk: PK, sk: model }),
    );
    this.cache.set(model, this.configured.find((r) => r.model === model) ?? null);
  }
}
