import type { MiddlewareHandler } from "hono";

/**
 * A path with repeated slashes (`//model-versions/get-artifact`) is redirected (308, method
 * and body kept) to the same path with them merged, as MLflow's server (werkzeug's
 * `merge_slashes`) answers, so clients that join URLs carelessly still reach the route.
 */
export const mergeSlashes: MiddlewareHandler = async (c, next) => {
  const path = c.req.path;
  if (!path.includes("//")) return next();
  const url = new URL(c.req.url);
  url.pathname = path.replace(/\/{2,}/g, "/");
  return c.redirect(`${url.pathname}${url.search}`, 308);
};
