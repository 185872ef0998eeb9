import { type CallInput, type CallOutput, type RouteId, type RouteSpec, routesById } from "@keel/contract";
import { type HttpTransport, type Query, queryString } from "./http";

/** The arguments of a call: the input is optional when every part of it is. */
export type CallArgs<R extends RouteSpec> =
  // biome-ignore lint/complexity/noBannedTypes: "nothing required" is exactly `{}`
  {} extends CallInput<R> ? [input?: CallInput<R>] : [input: CallInput<R>];

type Loose = { params?: Record<string, string>; query?: Query; body?: unknown };

/** The path of a route with its parameters filled in (each percent-encoded; `*` keeps its slashes). */
export function routePath(route: RouteSpec, params: Record<string, string> = {}): string {
  return route.path
    .replace(/:([A-Za-z_]\w*)/g, (_, name: string) => {
      const v = params[name];
      if (v === undefined) throw new TypeError(`${route.id}: path parameter '${name}' is missing`);
      return encodeURIComponent(v);
    })
    .replace(/\*$/, () => (params.path ?? "").split("/").map(encodeURIComponent).join("/"));
}

/**
 * Calls one contract route: fills the path, sends the query and JSON body the route
 * declares (an MLflow GET sends its request fields in the query string), and answers the
 * parsed JSON (text for routes whose answer is not JSON).
 */
export function callRoute<R extends RouteSpec>(
  http: HttpTransport,
  route: R,
  input: CallInput<R> | undefined,
): Promise<CallOutput<R>> {
  const { params, query, body } = (input ?? {}) as Loose;
  let path = routePath(route, params);
  const text = route.responseType !== undefined && !route.responseType.startsWith("application/json");
  if (route.method === "GET") {
    const q = route.mlflow ? (body as Query) : query;
    path += queryString(q);
    return http.send("GET", path, undefined, { text });
  }
  path += queryString(query);
  return http.send(route.method, path, body ?? (route.body ? {} : undefined), { text });
}

/** Resolves `"tracking.createRun"` or a route object to the route. */
export function resolveRoute(route: RouteSpec | RouteId): RouteSpec {
  if (typeof route !== "string") return route;
  const found = (routesById as Record<string, RouteSpec>)[route];
  if (!found) throw new TypeError(`no route with id '${route}' in the contract`);
  return found;
}
