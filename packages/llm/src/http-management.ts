import { mount, llmRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import { LlmError } from "./errors";
import type { KeyStore } from "./keys";
import type { RouteStore } from "./route-store";
import type { Teams } from "./teams";
import type { UsageLog } from "./usage-log";

/** `/api/v1/llm/...`: routes, keys, teams (admin writes, audited by the stores) and usage. */
export function mountManagementRoutes(
  app: Hono,
  d: { routes: RouteStore; keys: KeyStore; teams: Teams; usage: UsageLog },
): void {
  mount(app, r.listRoutes, async () => ({ routes: await d.routes.list() }));
  mount(app, r.getRoute, async ({ params }) => {
    const route = await d.routes.get(params.model);
    if (!route) throw new LlmError("not_found", `no route ${params.model}`);
    return route;
  });
  mount(app, r.putRoute, ({ params, body }) => d.routes.put({ ...body, model: params.model } as never));
  mount(app, r.deleteRoute, async ({ params }) => {
    await d.routes.delete(params.model);
    return {};
  });
  mount(app, r.listKeys, async ({ query }) => ({ keys: await d.keys.list(query.team) }));
  mount(app, r.createKey, ({ body }) => d.keys.create(body as never));
  mount(app, r.revokeKey, ({ params }) => d.keys.revoke(params.id));
  mount(app, r.listTeams, async () => ({ teams: await d.teams.list() }));
  mount(app, r.putTeam, ({ params, body }) => d.teams.put(params.team, body));
  mount(app, r.usage, async ({ query }) => ({ usage: await d.usage.query(query) }));
  mount(app, r.usageSummary, async ({ query }) => ({ summary: await d.usage.summary(query) }));
}
