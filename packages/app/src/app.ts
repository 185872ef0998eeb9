import type { AccessControl } from "@keel/auth";
import { consoleRoot, serveConsole } from "@keel/console";
import {
  allRoutes,
  consoleRoutes,
  docsPage,
  meRoutes,
  mount,
  openApiDocument,
  platformRoutes as r,
} from "@keel/contract";
import { currentContext, installErrorHandling } from "@keel/core";
import { Hono, type MiddlewareHandler } from "hono";
import { type AdmissionOptions, admission } from "./admission";
import { mergeSlashes } from "./merge-slashes";
import type { KeelModule } from "./module";
import { requestContext } from "./principal-middleware";
import { type RequestGuardOptions, requestGuards } from "./request-guards";

/**
 * The one HTTP app, served by the Lambda behind API Gateway and by `keel dev` alike.
 * Modules mount their own routes; this file only adds what every request shares: health
 * and the API's description (OpenAPI 3.1 generated from @keel/contract, and its reference page).
 */
/**
 * The console answers only paths whose first segment no API route uses: derived from the
 * contract, so a route added at the root (MLflow's `/get-artifact`) is never shadowed by a page.
 */
const API_FIRST_SEGMENTS = new Set(
  allRoutes.flatMap((route) => [route.path, ...(route.aliases ?? [])].map((p) => p.split("/")[1])),
);
function consoleOutsideApi(serve: MiddlewareHandler): MiddlewareHandler {
  return (c, next) => (API_FIRST_SEGMENTS.has(c.req.path.split("/")[1] ?? "") ? next() : serve(c, next));
}

export function createApp(
  modules: KeelModule[],
  opts: {
    access: AccessControl;
    guards?: RequestGuardOptions;
    admission?: AdmissionOptions;
    /** The console's build folder (default: `consoleRoot()`); false: no console. */
    console?: { root?: string } | false;
    /** The identity provider the console signs people in with (OIDC code flow with PKCE). */
    oidc?: { issuer?: string; clientId?: string; scopes: string };
  },
): Hono {
  const app = new Hono();
  installErrorHandling(app);
  app.use("*", mergeSlashes);
  app.use("*", requestGuards(opts.guards));
  app.use("*", admission(opts.admission ?? { maxInFlight: 0 }));
  // The console (packages/console): its static files and SPA pages, public like any web page
  // (its API calls carry the caller's token); API paths pass through to their own routes.
  if (opts.console !== false)
    app.use("*", consoleOutsideApi(serveConsole(opts.console?.root ?? consoleRoot())));
  // Who is calling, then whether the route's permission allows it: before every handler.
  app.use("*", requestContext(opts.access));
  app.use("*", opts.access.enforce);
  mount(app, r.health, () => ({ status: "ok" }));
  mount(app, r.apiHealth, () => ({ status: "ok", modules: modules.map((m) => m.name) }));
  let doc: unknown;
  mount(app, r.openapi, () => {
    doc ??= openApiDocument();
    return doc;
  });
  mount(app, r.docs, (_, c) => c.html(docsPage()));
  mount(app, meRoutes.me, () => {
    const { principal, roles, kind, display } = currentContext();
    return { principal, roles: [...roles], kind, display };
  });
  const oidc = opts.oidc;
  mount(app, consoleRoutes.config, () => ({
    oidc:
      oidc?.issuer && oidc.clientId
        ? { issuer: oidc.issuer, clientId: oidc.clientId, scopes: oidc.scopes }
        : null,
  }));
  for (const m of modules) m.routes?.(app);
  opts.access.routes(app);
  return app;
}
