import type { AuditLog } from "@keel/audit";
import { currentContext, KeelError } from "@keel/core";
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { grants, type Permission, rolesGranting } from "./permissions";
import { atLeast, type ResourcePermissions } from "./resource-permissions";
import { OWNER_ON_CREATE, RESOURCE_SCOPES, type ResourceScope, SEARCH_FILTERS } from "./resource-scopes";
import { permissionFor, routeKey } from "./route-permissions";

export interface AccessOptions {
  audit: AuditLog;
  /** Team scoping (experiments, registered models): only with `keel dev --auth`. */
  resources?: ResourcePermissions;
  /** The experiment a run belongs to, and an experiment's id by name (for routes that name those). */
  runExperiment?: (runId: string) => Promise<string>;
  experimentByName?: (name: string) => Promise<string>;
  /** True when the request carried no identity (answered 401 on any non-public route). */
  isAnonymous: (c: Context) => boolean;
}

/**
 * THE access check, before any handler: the route (as Hono registered it) → its permission in
 * ROUTE_PERMISSIONS → the caller's roles; then, with team scoping, the caller's level on the
 * experiment or model the request names. Every refusal is 403 PERMISSION_DENIED naming what
 * is missing, and an `access.denied` audit event (also for refusals the services raise).
 */
export function enforceAccess(opts: AccessOptions): MiddlewareHandler {
  return async (c, next) => {
    const route = matchedRoutes(c).find((r) => r.method !== "ALL");
    if (!route) return next();
    const key = routeKey(route.method, route.path);
    const permission = permissionFor(route.method, route.path);
    if (permission === "public") return next();
    if (opts.isAnonymous(c))
      throw new KeelError(
        "UNAUTHENTICATED",
        "authentication required: send Authorization: Bearer <token> or Basic <name>:<token>",
      );
    if (!permission) await deny(c, opts, key, `route ${key} is not in the permission table`, undefined);
    else if (!grants(currentContext().roles, permission))
      await deny(
        c,
        opts,
        key,
        `permission '${permission}' is required (granted by role ${rolesGranting(permission).join(", ")})`,
        permission,
      );
    const scope = RESOURCE_SCOPES[key];
    if (opts.resources && scope && !currentContext().roles.includes("admin"))
      await checkResource(c, opts, opts.resources, { key, pattern: route.path }, scope);
    await next();
    if (c.res.status === 403)
      await opts.audit.append({
        action: "access.denied",
        resource: `route:${key}`,
        state: { path: c.req.path, permission, by: "service" },
      });
    const search = SEARCH_FILTERS[key];
    if (opts.resources && search && c.res.status === 200 && !currentContext().roles.includes("admin"))
      c.res = await readableOnly(c.res, opts.resources, search);
    const owner = OWNER_ON_CREATE[key];
    if (opts.resources && owner && c.res.status === 200) {
      const id = owner.id(
        (await c.res
          .clone()
          .json()
          .catch(() => ({}))) as never,
      );
      if (typeof id === "string" && id)
        await opts.resources.put(
          { type: owner.type, id, username: currentContext().principal, permission: "MANAGE" },
          "upsert",
        );
    }
  };
}

/** The response with the resources the caller holds NO_PERMISSIONS on left out. */
async function readableOnly(
  res: Response,
  resources: ResourcePermissions,
  search: { type: "experiment" | "registered_model"; list: string; id: string },
): Promise<Response> {
  const body = (await res.clone().json()) as Record<string, unknown>;
  const items = body[search.list];
  if (!Array.isArray(items)) return res;
  const { principal } = currentContext();
  const levels = await Promise.all(
    items.map((i) =>
      resources.level(search.type, String((i as Record<string, unknown>)[search.id]), principal),
    ),
  );
  const kept = items.filter((_, n) => atLeast(levels[n], "READ"));
  if (kept.length === items.length) return res;
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify({ ...body, [search.list]: kept }), { status: res.status, headers });
}

async function deny(
  c: Context,
  opts: AccessOptions,
  key: string,
  why: string,
  permission?: Permission,
): Promise<never> {
  const { principal, roles } = currentContext();
  await opts.audit.append({
    action: "access.denied",
    resource: `route:${key}`,
    state: { path: c.req.path, permission, roles, reason: why },
  });
  throw new KeelError("PERMISSION_DENIED", `${principal} may not ${key}: ${why}`);
}

async function checkResource(
  c: Context,
  opts: AccessOptions,
  resources: ResourcePermissions,
  route: { key: string; pattern: string },
  scope: ResourceScope,
): Promise<void> {
  const { key } = route;
  const named =
    scope.field === "artifact_path"
      ? artifactExperiment(route.pattern, c.req.path)
      : (pathParam(route.pattern, c.req.path, scope.field) ??
        // MLflow takes a run's id as `run_uuid` too (the UI's upload and download do); the
        // query is read before any body, which an upload's handler streams itself.
        (scope.field === "run_id" ? (c.req.query("run_id") ?? c.req.query("run_uuid")) : undefined) ??
        (await requestField(c, scope.field)) ??
        (scope.field === "run_id" ? await requestField(c, "run_uuid") : undefined));
  if (!named) return; // the handler answers 400 for a request that names nothing
  const resolve =
    scope.field === "run_id"
      ? opts.runExperiment
      : scope.field === "experiment_name"
        ? opts.experimentByName
        : async (x: string) => x;
  if (!resolve) return;
  let id: string;
  try {
    id = await resolve(named);
  } catch {
    return; // an unknown run or experiment: the handler answers 404
  }
  const { principal } = currentContext();
  const held = await resources.level(scope.type, id, principal);
  if (!atLeast(held, scope.level))
    await deny(
      c,
      opts,
      key,
      `permission ${scope.level} on ${scope.type === "experiment" ? "experiment" : "registered model"} '${id}' is required (held: ${held})`,
    );
}

/** A path parameter of the handler's route (a middleware's own `c.req.param` sees only `*`). */
function pathParam(pattern: string, path: string, name: string): string | undefined {
  const i = pattern.split("/").indexOf(`:${name}`);
  const raw = i >= 0 ? path.split("/")[i] : undefined;
  return raw ? decodeURIComponent(raw) : undefined;
}

/** The experiment id an artifact path starts with; other prefixes are not experiment-scoped. */
function artifactExperiment(pattern: string, path: string): string | undefined {
  const prefix = pattern.replace(/\*$/, "");
  const first = path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)).split("/")[0] : "";
  return /^\d+$/.test(first) ? first : undefined;
}

async function requestField(c: Context, field: string): Promise<string | undefined> {
  const fromQuery = c.req.query(field);
  if (fromQuery) return fromQuery;
  if (c.req.method === "GET" || c.req.method === "HEAD") return undefined;
  try {
    const body = JSON.parse(await c.req.text()) as Record<string, unknown>;
    const v = body?.[field];
    return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
  } catch {
    return undefined;
  }
}
