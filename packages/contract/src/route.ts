import type { ErrorCode } from "@keel/core";
import type { z } from "zod";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * One HTTP route of Keel's API, declared once: the server mounts it (`mount`), the OpenAPI
 * document describes it (`openApiDocument`) and the SDK calls it (`KeelClient.call`).
 */
export interface RouteSpec {
  /** The operationId, `<area>.<verb><Noun>`, unique across the contract. */
  id: string;
  method: HttpMethod;
  /** Hono style: `:param` segments, a trailing `*` for a slash-separated path. */
  path: string;
  summary: string;
  tags: readonly string[];
  /** Path parameters (strings). */
  params?: z.ZodType;
  /** Query-string parameters (repeated keys arrive as arrays). */
  query?: z.ZodType;
  /**
   * The JSON request body. For `mlflow` routes it is the whole request message: read from the
   * query string on GET, from the query string merged with the JSON body otherwise.
   */
  body?: z.ZodType;
  /** The success answer (JSON unless `responseType` says otherwise). */
  response?: z.ZodType;
  /** Success status when it is not 200. */
  status?: number;
  /** Error codes (`{error_code, message}`; `{error}` on KServe v2) this route can answer. */
  errors: readonly ErrorCode[];
  /** MLflow REST convention: one request message, GET from the query string. */
  mlflow?: boolean;
  /** A GET route that also accepts POST with the request as a JSON body (MLflow read endpoints). */
  acceptsPost?: boolean;
  /** Also served under these path prefixes in place of the first segments (MLflow's `/ajax-api`). */
  aliases?: readonly string[];
  /** The handler reads the body itself (streams, KServe's own JSON errors): `body` documents it. */
  rawBody?: boolean;
  /** Content type of the request body when not JSON. */
  requestType?: string;
  /** Content type of the success answer when not JSON. */
  responseType?: string;
  /** Names the part of a request that a validation message blames ("query" by default). */
  queryLabel?: string;
}

/** Keeps a route's literal types (id, method, schemas) so handlers and the SDK are typed from it. */
export function defineRoute<const R extends RouteSpec>(route: R): R {
  return route;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
type In<S> = S extends z.ZodType ? z.input<S> : undefined;

/** What a server handler receives: each part parsed by the route's schema. */
export interface ServerInput<R extends RouteSpec> {
  params: R["params"] extends z.ZodType ? z.output<R["params"]> : Record<string, string>;
  query: Out<R["query"]>;
  body: Out<R["body"]>;
}

type Part<K extends string, S> = S extends z.ZodType
  ? undefined extends z.input<S>
    ? { [P in K]?: z.input<S> }
    : // biome-ignore lint/complexity/noBannedTypes: "every field optional" is exactly `{}`
      {} extends z.input<S>
      ? { [P in K]?: z.input<S> }
      : { [P in K]: z.input<S> }
  : { [P in K]?: never };

/** What a caller sends: path parameters, query and body as the route's schemas accept them. */
export type CallInput<R extends RouteSpec> = Part<"params", R["params"]> &
  Part<"query", R["query"]> &
  Part<"body", R["body"]>;

/** What a caller gets back (the JSON answer as the response schema describes it). */
export type CallOutput<R extends RouteSpec> = R["response"] extends z.ZodType
  ? z.output<R["response"]>
  : unknown;

export type { In as InputOf, Out as OutputOf };
