import { apiError, connectionReason, KeelApiError, KeelConnectionError } from "./errors";

interface CommonOptions {
  /**
   * Sent as `Authorization: Bearer <token>`: a JWT in AWS, a `keel dev --auth` API token
   * locally. Defaults to KEEL_TOKEN, then MLFLOW_TRACKING_TOKEN, so every CLI command works
   * against an authenticated server.
   */
  token?: string;
  /** Sent as `x-keel-principal`: who the local platform records as the writer. */
  principal?: string;
  /** Sent with every request. */
  headers?: Record<string, string>;
}

/** Over HTTP to a server. */
export interface HttpOptions extends CommonOptions {
  /** The server, e.g. http://localhost:5000 (a trailing slash is fine). */
  url: string;
  /** A fetch implementation (tests, custom agents); defaults to the global one. */
  fetch?: typeof fetch;
}

/** In process: straight into a Hono app (`createPlatform(...).app`), no socket. */
export interface InProcessOptions extends CommonOptions {
  app: { request(input: string, init?: RequestInit): Response | Promise<Response> };
}

export type ClientOptions = HttpOptions | InProcessOptions;

export type Query = Record<string, string | number | boolean | Array<string | number> | undefined>;

/** `?a=1&b=x&b=y` from an object (arrays repeat the key, as MLflow's GET endpoints read them). */
export function queryString(query: Query = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
  }
  return qs.size ? `?${qs}` : "";
}

/**
 * The transport every area's client shares: JSON over HTTP (or into an app in process),
 * query strings for GET, error JSON turned into KeelApiError, a server that cannot be
 * reached into KeelConnectionError. Node's fetch keeps connections alive by default.
 */
export class HttpTransport {
  /** Where requests go, for messages: the URL, or "in-process app". */
  readonly target: string;
  private readonly headers: Record<string, string>;
  private readonly fetchPath: (path: string, init: RequestInit) => Promise<Response>;

  constructor(opts: ClientOptions) {
    this.headers = { ...opts.headers };
    // In a browser (the console) there is no process: the token is the caller's to give.
    const env = typeof process === "undefined" ? {} : process.env;
    const token = opts.token ?? (env.KEEL_TOKEN || env.MLFLOW_TRACKING_TOKEN);
    if (token) this.headers.authorization = `Bearer ${token}`;
    if (opts.principal) this.headers["x-keel-principal"] = opts.principal;
    if ("app" in opts) {
      const app = opts.app;
      this.target = "in-process app";
      this.fetchPath = async (path, init) => app.request(path, init);
    } else {
      const base = opts.url.replace(/\/+$/, "");
      const fetchImpl = opts.fetch ?? fetch;
      this.target = base;
      this.fetchPath = (path, init) => fetchImpl(`${base}${path}`, init);
    }
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.send<T>("GET", `${path}${queryString(query)}`);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>("POST", path, body);
  }

  /** Sends a request and answers its JSON (or, with `text`, its body as text). */
  async send<T>(method: string, path: string, body?: unknown, opts: { text?: boolean } = {}): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchPath(path, {
        method,
        headers: body === undefined ? this.headers : { ...this.headers, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new KeelConnectionError(this.target, connectionReason(e));
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = undefined;
    }
    if (!res.ok) throw apiError(res.status, json, `${method} ${path}`, text);
    if (opts.text) return text as T;
    if (json === undefined) {
      throw new KeelApiError(
        "INTERNAL_ERROR",
        res.status,
        `${method} ${path} returned a body that is not JSON`,
      );
    }
    return json as T;
  }
}
