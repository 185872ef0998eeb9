import { jsonBody, parseWith, queryObject } from "@keel/core";
import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { floatFieldsOf, parseMlflowRequest } from "./mlflow-issues";
import type { RouteSpec, ServerInput } from "./route";

const anyObject = z.record(z.string(), z.unknown());

export type RouteHandler<R extends RouteSpec> = (input: ServerInput<R>, c: Context) => unknown;

/** Every method+path a route is served at (aliases and the POST form of MLflow reads included). */
export function servedAt(route: RouteSpec): Array<{ method: RouteSpec["method"]; path: string }> {
  const paths = [route.path, ...(route.aliases ?? []).map((a) => aliasPath(route.path, a))];
  const methods = route.acceptsPost ? [route.method, "POST" as const] : [route.method];
  return paths.flatMap((path) => methods.map((method) => ({ method, path })));
}

/** `/api/2.0/mlflow/runs/get` with alias `/ajax-api` is `/ajax-api/2.0/mlflow/runs/get`. */
function aliasPath(path: string, alias: string): string {
  return alias + path.slice(path.indexOf("/", 1));
}

/**
 * Parses a request the one way every route does: path parameters, then the query string,
 * then the JSON body (read once; empty = {}; malformed = MALFORMED_REQUEST), each with the
 * route's schema (INVALID_PARAMETER_VALUE naming the field). MLflow routes read one request
 * message: the query string on GET, the query string merged with the JSON body otherwise, and
 * word a bad field as MLflow's server does.
 */
export async function readInput<R extends RouteSpec>(route: R, c: Context): Promise<ServerInput<R>> {
  const rawParams = c.req.param() as Record<string, string>;
  const params = route.params ? parseWith(route.params, rawParams, "path") : rawParams;
  if (route.mlflow) {
    const q = queryObject(c);
    const raw = c.req.method === "GET" ? q : { ...q, ...(await jsonBody(c, anyObject)) };
    const body = route.body ? await parseMlflowBody(route.body, raw, c) : raw;
    return { params, query: undefined, body } as ServerInput<R>;
  }
  const query = route.query ? parseWith(route.query, queryObject(c), route.queryLabel ?? "query") : undefined;
  const body = route.body && !route.rawBody ? await jsonBody(c, route.body) : undefined;
  return { params, query, body } as ServerInput<R>;
}

/** Parses an MLflow request; a refusal names a value as Python read it (the JSON text tells floats). */
async function parseMlflowBody(
  schema: z.ZodType,
  raw: Record<string, unknown>,
  c: Context,
): Promise<unknown> {
  try {
    return parseMlflowRequest(schema, raw);
  } catch (e) {
    if (c.req.method === "GET") throw e;
    return parseMlflowRequest(schema, raw, floatFieldsOf(await c.req.text()));
  }
}

/**
 * Mounts a contract route on an app: parses its input, calls the handler, and answers its
 * result as JSON (`{}` for none) with the route's status. A handler may return a Response
 * (streams, text, HTML, another status).
 */
export function mount<R extends RouteSpec>(
  app: Hono,
  route: R,
  handler: RouteHandler<R>,
  ...middleware: MiddlewareHandler[]
): void {
  const serve = async (c: Context) => {
    const out = await handler(await readInput(route, c), c);
    if (out instanceof Response) return out;
    return c.json((out ?? {}) as object, (route.status ?? 200) as 200);
  };
  const handlers = [...middleware, serve] as unknown as [MiddlewareHandler];
  for (const { method, path } of servedAt(route)) app.on(method, path, ...handlers);
}
