/**
 * The first path segment of every console page (the SPA's router table, `web/src/routes.ts`,
 * may only use these; tests/console/public-routes.test.ts checks it). In AWS the user API routes
 * these paths, the page's assets and the console config past its JWT authorizer: a browser
 * opening a page sends no token, and the files are public like any web page.
 */
export const CONSOLE_PAGE_PREFIXES = [
  "signin",
  "experiments",
  "runs",
  "charts",
  "compare",
  "models",
  "reviews",
  "pipelines",
  "features",
  "deployments",
  "monitoring",
  "audit",
  "gateway",
] as const;

/** API Gateway route keys that need no token: the console config, the page shell and its assets. */
export function consolePublicRouteKeys(): string[] {
  return [
    "GET /api/v1/console/config",
    "GET /",
    "GET /index.html",
    "GET /assets/{proxy+}",
    ...CONSOLE_PAGE_PREFIXES.flatMap((p) => [`GET /${p}`, `GET /${p}/{proxy+}`]),
  ];
}
