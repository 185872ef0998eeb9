import type { AuditLog } from "@keel/audit";
import { currentContext, KeelError, queryObject } from "@keel/core";
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { grants, type Permission, rolesGranting } from "./permissions";
import { atLeast, type ResourcePermissions } from "./resource-permissions";
import {
  OWNER_ON_CREATE,
  RESOURCE_SCOPES,
  type ResourceScope,
  type ScopeField,
  SEARCH_FILTERS,
} from "./resource-scopes";
import { permissionFor, routeKey } from "./route-permissions";

export interface AccessOptions {
  audit: AuditLog;
  /** Team scoping (experiments, registered models): only with `keel dev --auth`. */
  resources?: ResourcePermissions;
  /** The experiment a run, trace or logged model belongs to, and an experiment's id by name. */
  runExperiment?: (runId: string) => Promise<string>;
  experimentByName?: (name: string) => Promise<string>;
  traceExperiment?: (traceId: string) => Promise<string>;
  loggedModelExperiment?: (modelId: string) => Promise<string>;
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
    const scopes = [RESOURCE_SCOPES[key] ?? []].flat();
    if (opts.resources && !currentContext().roles.includes("admin"))
      for (const scope of scopes)
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
  // the handler answers 400 for a request that names nothing
  const named = await namedIds(c, route.pattern, scope.field);
  const resolve = resolverFor(opts, scope.field);
  if (!resolve) return;
  const { principal } = currentContext();
  for (const name of new Set(named)) {
    let id: string;
    try {
      id = await resolve(name);
    } catch (e) {
      if (e instanceof KeelError) continue; // an unknown run, trace or model: the handler answers 404
      throw e;
    }
    const held = await resources.level(scope.type, id, principal);
    if (!atLeast(held, scope.level))
      await deny(
        c,
        opts,
        key,
        `permission ${scope.level} on ${scope.type === "experiment" ? "experiment" : "registered model"} '${id}' is required (held: ${held})`,
      );
  }
}

function resolverFor(opts: AccessOptions, field: ScopeField): ((x: string) => Promise<string>) | undefined {
  switch (field) {
    case "run_id":
      return opts.runExperiment;
    case "experiment_name":
      return opts.experimentByName;
    case "trace_id":
    case "trace_ids":
      return opts.traceExperiment;
    case "model_id":
    case "model_ids":
      return opts.loggedModelExperiment;
    default:
      return async (x: string) => x;
  }
}

/** The request fields naming each kind of scope, in the order the handlers read them. */
const FIELD_NAMES: Readonly<Record<Exclude<ScopeField, "artifact_path">, readonly string[]>> = {
  experiment_id: ["experiment_id"],
  experiment_name: ["experiment_name"],
  // MLflow takes a run's id as `run_uuid` too (the UI's upload and download do).
  run_id: ["run_id", "run_uuid"],
  name: ["name"],
  trace_id: ["request_id", "trace_id"],
  model_id: ["model_id"],
  experiment_ids: ["experiment_ids"],
  trace_ids: ["trace_ids"],
  model_ids: ["model_id"],
};

/**
 * Every id the request names for a scope: a path parameter of the handler's route wins (the
 * handler reads it, whatever the body says); else every value of every field naming it in the
 * request as the handler reads it (`run_id` and `run_uuid`, a repeated query parameter), so
 * whichever one the handler uses has been checked.
 */
async function namedIds(c: Context, pattern: string, field: ScopeField): Promise<string[]> {
  if (field === "artifact_path") return [artifactExperiment(pattern, c.req.path)].flatMap((x) => x ?? []);
  const names = FIELD_NAMES[field];
  for (const name of names) {
    const fromPath = pathParam(pattern, c.req.path, name);
    if (fromPath) return [fromPath];
  }
  const input = await requestInput(c);
  const ids = names.flatMap((n) => scalars(input[n]));
  if (field === "experiment_ids" && Array.isArray(input.locations))
    for (const l of input.locations as Array<{ mlflow_experiment?: { experiment_id?: unknown } }>)
      ids.push(...scalars(l?.mlflow_experiment?.experiment_id));
  if (field === "model_ids")
    for (const list of [input.metrics, input.models])
      if (Array.isArray(list))
        for (const m of list) ids.push(...scalars((m as { model_id?: unknown })?.model_id));
  return ids;
}

function scalars(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(scalars);
  return (typeof v === "string" && v !== "") || typeof v === "number" ? [String(v)] : [];
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

/**
 * The request message as MLflow routes read it (contract `readInput`): the query string on GET,
 * the JSON body over the query string otherwise. Reading the body the same way keeps a request
 * from naming one resource to this check and another to the handler.
 */
async function requestInput(c: Context): Promise<Record<string, unknown>> {
  const query = queryObject(c);
  if (c.req.method === "GET" || c.req.method === "HEAD") return query;
  try {
    // Read as bytes (Hono caches them losslessly): a handler that takes the raw body, like
    // upload-artifact's, then gets the exact bytes, which a cached text could not give back.
    const body = JSON.parse(new TextDecoder().decode(await c.req.arrayBuffer())) as unknown;
    return body && typeof body === "object" && !Array.isArray(body) ? { ...query, ...body } : query;
  } catch {
    return query;
  }
}
