import { KeelApiError } from "./errors";

export interface ClientOptions {
  /** The server, e.g. http://localhost:5000 (a trailing slash is fine). */
  url: string;
  /**
   * Sent as `Authorization: Bearer <token>`: a JWT in AWS, a `keel dev --auth` API token
   * locally. Defaults to KEEL_TOKEN, then MLFLOW_TRACKING_TOKEN, so every CLI command works
   * against an authenticated server.
   */
  token?: string;
  /** Sent as `x-keel-principal`: who the local platform records as the writer. */
  principal?: string;
  /** A fetch implementation (tests, custom agents); defaults to the global one. */
  fetch?: typeof fetch;
}

export type Query = Record<string, string | number | boolean | Array<string | number> | undefined>;

/**
 * The transport every area's client shares: JSON over HTTP, query strings for GET, MLflow
 * error JSON turned into KeelApiError. Node's fetch keeps connections alive by default.
 */
export class HttpTransport {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, "");
    this.headers = {};
    const token = opts.token ?? (process.env.KEEL_TOKEN || process.env.MLFLOW_TRACKING_TOKEN);
    if (token) this.headers.authorization = `Bearer ${token}`;
    if (opts.principal) this.headers["x-keel-principal"] = opts.principal;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
    }
    const suffix = qs.size ? `?${qs}` : "";
    return this.send<T>("GET", `${path}${suffix}`);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>("POST", path, body);
  }

  async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetchImpl(`${this.base}${path}`, {
      method,
      headers: body === undefined ? this.headers : { ...this.headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json ?? {}) as { error_code?: string; message?: string };
      throw new KeelApiError(
        err.error_code ?? (res.status === 404 ? "ENDPOINT_NOT_FOUND" : "INTERNAL_ERROR"),
        res.status,
        err.message ?? `${method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 200)}`,
      );
    }
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
