import type { Context, Hono } from "hono";
import type { z } from "zod";
import { type ErrorCode, httpStatusFor, KeelError } from "./errors";
import { log } from "./log";

/**
 * HTTP helpers shared by every package's routes: MLflow-shaped error JSON
 * (`{error_code, message}`), body/query parsing through zod with messages that name the field.
 */
export function errorBody(code: ErrorCode, message: string) {
  return { error_code: code, message };
}

/** Maps any thrown value to a response. Unknown errors are logged and become a bare INTERNAL_ERROR. */
export function errorResponse(c: Context, e: unknown): Response {
  if (e instanceof KeelError) {
    return c.json(errorBody(e.code, e.message), httpStatusFor(e.code) as 400);
  }
  log.error("unhandled error", {
    err: e instanceof Error ? (e.stack ?? e.message) : String(e),
    path: c.req.path,
  });
  return c.json(errorBody("INTERNAL_ERROR", "internal error"), 500);
}

/** Seconds a refused caller (429 or 503: a full queue, an overloaded or starting backend) should wait. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Installs Keel's error mapping and JSON 404 on an app, and gives every 429 and 503 answer a
 * `Retry-After` header (whatever route produced it, the KServe v2 routes included), so a
 * refusal under load tells the client when to come back instead of leaving it to time out.
 */
export function installErrorHandling(app: Hono): void {
  app.use("*", async (c, next) => {
    await next();
    if ((c.res.status === 503 || c.res.status === 429) && !c.res.headers.has("retry-after")) {
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set("Retry-After", String(RETRY_AFTER_SECONDS));
    }
  });
  app.onError((e, c) => errorResponse(c, e));
  app.notFound((c) =>
    c.json(errorBody("ENDPOINT_NOT_FOUND", `no endpoint for ${c.req.method} ${c.req.path}`), 404),
  );
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const where = i.path.length ? i.path.join(".") : "body";
      return `${where}: ${i.message}`;
    })
    .join("; ");
}

/** Parses a value with a schema or throws INVALID_PARAMETER_VALUE naming each bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = "request"): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new KeelError("INVALID_PARAMETER_VALUE", `invalid ${what}: ${describeIssues(r.error)}`);
  return r.data;
}

/** Reads a JSON body (empty body = {}) and validates it. Malformed JSON is MALFORMED_REQUEST (400). */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new KeelError("MALFORMED_REQUEST", `malformed JSON body: ${(e as Error).message}`, undefined, {
        cause: e,
      });
    }
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new KeelError("MALFORMED_REQUEST", "request body must be a JSON object");
  }
  return parseWith(schema, value);
}

/**
 * Query-string parameters as an object; repeated keys become arrays (MLflow's GET endpoints
 * send lists such as `experiment_ids` that way).
 */
export function queryObject(c: Context): Record<string, string | string[]> {
  const url = new URL(c.req.url);
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else out[k] = Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  return out;
}
