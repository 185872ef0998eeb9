import { installErrorHandling } from "@keel/core";
import { Hono } from "hono";
import type { KeelModule } from "./module";
import { requestContext } from "./principal-middleware";
import { type RequestGuardOptions, requestGuards } from "./request-guards";

/**
 * The one HTTP app, served by the Lambda behind API Gateway and by `keel dev` alike.
 * Modules mount their own routes; this file only adds what every request shares.
 */
export function createApp(
  modules: KeelModule[],
  opts: { defaultPrincipal?: string; guards?: RequestGuardOptions } = {},
): Hono {
  const app = new Hono();
  installErrorHandling(app);
  app.use("*", requestGuards(opts.guards));
  app.use("*", requestContext(opts.defaultPrincipal ?? "local-user"));
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/api/v1/health", (c) => c.json({ status: "ok", modules: modules.map((m) => m.name) }));
  for (const m of modules) m.routes?.(app);
  return app;
}
