import type { AccessControl } from "@keel/auth";
import { installErrorHandling } from "@keel/core";
import { Hono } from "hono";
import type { KeelModule } from "./module";
import { requestContext } from "./principal-middleware";

/**
 * The one HTTP app, served by the Lambda behind API Gateway and by `keel dev` alike.
 * Modules mount their own routes; this file only adds what every request shares.
 */
export function createApp(modules: KeelModule[], opts: { access: AccessControl }): Hono {
  const app = new Hono();
  installErrorHandling(app);
  // Who is calling, then whether the route's permission allows it: before every handler.
  app.use("*", requestContext(opts.access));
  app.use("*", opts.access.enforce);
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/api/v1/health", (c) => c.json({ status: "ok", modules: modules.map((m) => m.name) }));
  for (const m of modules) m.routes?.(app);
  opts.access.routes(app);
  return app;
}
