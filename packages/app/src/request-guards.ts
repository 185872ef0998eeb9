import { type ErrorCode, errorBody, httpStatusFor, KeelError } from "@keel/core";
import type { Context, MiddlewareHandler } from "hono";

/**
 * What every request passes before any handler runs, so a web page the user happens to
 * visit cannot drive the API (CSRF) and a hostile DNS name cannot reach it (DNS rebinding):
 *
 * - bodies only with a JSON content type, or the protocol's own (artifact file uploads of any
 *   type, KServe v2 inference untyped or binary); a `text/plain`, form or untyped body is 415;
 * - state-changing requests (POST, PUT, PATCH, DELETE) whose `Origin` is not the server's
 *   own origin (or a configured one) are 403;
 * - where a host allow-list is given (`keel dev`), any other `Host` header is 421. In AWS,
 *   API Gateway fronts the function and answers only to its own domain, so no list is set.
 *
 * No CORS headers are ever sent, so a foreign page can neither send a preflighted request
 * nor read a response.
 */
export interface RequestGuardOptions {
  /**
   * The `Host` headers (`host:port`, lower case) the server answers to; read per request, as
   * `keel dev` knows its port only once it listens. Absent: any host (AWS).
   */
  allowedHosts?: () => ReadonlySet<string>;
  /** Origins (`scheme://host[:port]`) besides the server's own that may change state. */
  allowedOrigins?: readonly string[];
}

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** `application/json` and the structured-syntax `application/<anything>+json`. */
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;
/** MLflow's artifact proxy: the client sends each file with its guessed MIME type. */
const ARTIFACT_UPLOAD = /^\/api\/2\.0\/mlflow-artifacts\/artifacts\//;
/** The MLflow UI's artifact upload, whose body is the file itself (MLflow caps it at 10 MB). */
const UI_UPLOAD = /^\/ajax-api\/2\.0\/mlflow\/upload-artifact$/;
/** KServe v2 inference, whose binary tensor extension sends application/octet-stream. */
const V2_INFER = /^\/v2\/models\/[^/]+(?:\/versions\/[^/]+)?\/infer$/;

export function requestGuards(opts: RequestGuardOptions = {}): MiddlewareHandler {
  const extraOrigins = new Set((opts.allowedOrigins ?? []).map((o) => o.toLowerCase().replace(/\/+$/, "")));
  return async (c, next) => {
    try {
      const host = c.req.header("host")?.toLowerCase();
      const hosts = opts.allowedHosts?.();
      if (hosts && overSocket(c)) checkHost(host, hosts);
      if (STATE_CHANGING.has(c.req.method)) {
        checkOrigin(c.req.header("origin"), host, hosts, extraOrigins);
        checkContentType(c);
      }
    } catch (e) {
      if (!(e instanceof KeelError)) throw e;
      return refuse(c, e.code, e.message);
    }
    return next();
  };
}

/**
 * Whether the request came over a socket (the Node server hands the app its `incoming`
 * message). A request handed to the app in process (`app.request`, the SDK's `{ app }`
 * transport) has no Host header and no browser behind it, so no DNS name to check.
 */
function overSocket(c: Context): boolean {
  return (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined;
}

function checkHost(host: string | undefined, allowed: ReadonlySet<string>): void {
  if (host && allowed.has(host)) return;
  throw new KeelError(
    "MISDIRECTED_REQUEST",
    `this server does not answer to the Host ${host ? `'${host}'` : "(none)"}; it answers to ${[...allowed].join(", ")} ` +
      "(a guard against DNS rebinding; add names with KEEL_ALLOWED_HOSTS)",
  );
}

function checkOrigin(
  origin: string | undefined,
  host: string | undefined,
  hosts: ReadonlySet<string> | undefined,
  extra: ReadonlySet<string>,
): void {
  if (origin === undefined) return; // not sent by a browser (CLI, SDK, the mlflow client)
  let parsed: URL | undefined;
  try {
    parsed = new URL(origin);
  } catch {
    parsed = undefined;
  }
  if (parsed && parsed.origin !== "null") {
    const originHost = parsed.host.toLowerCase();
    if (originHost === host || hosts?.has(originHost) || extra.has(parsed.origin.toLowerCase())) return;
  }
  throw new KeelError(
    "PERMISSION_DENIED",
    `cross-origin request refused: Origin '${origin}' is not this server's own origin ` +
      "(allow a web app's origin with KEEL_ALLOWED_ORIGINS)",
  );
}

function checkContentType(c: Context): void {
  const header = c.req.header("content-type");
  const type = header?.split(";", 1)[0].trim().toLowerCase();
  if (type === undefined || type === "") {
    if (!hasBody(c)) return;
  } else if (JSON_MEDIA_TYPE.test(type)) {
    return;
  }
  const path = c.req.path;
  if (c.req.method === "PUT" && ARTIFACT_UPLOAD.test(path)) return;
  if (c.req.method === "POST" && UI_UPLOAD.test(path)) return;
  if (V2_INFER.test(path)) {
    // Inference clients (tritonclient, KServe's) often send JSON with no type at all; a
    // browser cannot, cross-origin, without an Origin header, which the check above refused.
    if (type === undefined || type === "") return;
    if (type === "application/octet-stream" && c.req.header("inference-header-content-length") !== undefined)
      return;
  }
  throw new KeelError(
    "UNSUPPORTED_MEDIA_TYPE",
    `${c.req.method} ${path} takes a JSON body: send Content-Type: application/json ` +
      `(got ${header ? `'${header}'` : "a body without a Content-Type"})`,
  );
}

/** Whether the request carries a body (a declared non-zero length, or a chunked one). */
function hasBody(c: Context): boolean {
  const length = c.req.header("content-length");
  if (length !== undefined) return Number(length) > 0;
  return c.req.header("transfer-encoding") !== undefined;
}

/** The refusal in the shape the path's protocol uses: `{error}` for KServe v2, MLflow's otherwise. */
function refuse(c: Context, code: ErrorCode, message: string): Response {
  const status = httpStatusFor(code) as 400;
  return c.req.path.startsWith("/v2/")
    ? c.json({ error: message }, status)
    : c.json(errorBody(code, message), status);
}
