import { Pool } from "undici";

/** Connection failures of a reused socket (closed by the upstream while idle). */
const STALE_SOCKET = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

/** What one upstream call needs from the transport. */
export interface UpstreamCall {
  method: "POST" | "GET";
  /** Absolute URL (its origin picks the pool). */
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Aborts the call: the per-try timeout, or the caller going away. */
  signal: AbortSignal;
  /** Headers and body (idle between chunks) timeouts: the route's per-try timeout. */
  timeoutMs?: number;
}

export interface UpstreamAnswer {
  status: number;
  header(name: string): string | undefined;
  /** The body as it comes (an async iterable of bytes); `destroy` closes the connection early. */
  body: AsyncIterable<Uint8Array> & { destroy(err?: Error): unknown };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export interface UpstreamPoolOptions {
  /** Connections kept per upstream origin (default 128: 64 concurrent callers with headroom). */
  connections?: number;
  /** Idle keep-alive before a socket is closed (default 60 s; upstreams usually allow more). */
  keepAliveMs?: number;
}

/**
 * The gateway's HTTP transport to OpenAI-compatible upstreams: one keep-alive undici Pool per
 * origin (pipelining off: a slow generation must never hold up the request queued behind it on
 * the same socket), reused by every provider that names that origin. undici's `request` skips
 * fetch's WHATWG layers (Request/Response/Headers objects, web streams), which were over half
 * of the gateway's own CPU time per request.
 */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  constructor(private readonly opts: UpstreamPoolOptions = {}) {}

  private pool(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        connections: this.opts.connections ?? 128,
        pipelining: 1,
        keepAliveTimeout: this.opts.keepAliveMs ?? 60_000,
        keepAliveMaxTimeout: 10 * 60_000,
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Parsed call URLs (a provider sends to the same few): no URL object per request. */
  private readonly targets = new Map<string, { origin: string; path: string }>();

  private target(href: string): { origin: string; path: string } {
    let t = this.targets.get(href);
    if (!t) {
      const url = new URL(href);
      t = { origin: url.origin, path: `${url.pathname}${url.search}` };
      if (this.targets.size < 1000) this.targets.set(href, t);
    }
    return t;
  }

  async request(call: UpstreamCall): Promise<UpstreamAnswer> {
    const url = this.target(call.url);
    const timeout = call.timeoutMs ?? 300_000;
    const send = () =>
      this.pool(url.origin).request({
        method: call.method,
        path: url.path,
        headers: call.headers,
        body: call.body,
        signal: call.signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    let res: Awaited<ReturnType<typeof send>>;
    try {
      res = await send();
    } catch (e) {
      // A kept-alive socket the upstream closed while idle fails before any answer came: the
      // upstream never saw the request, so it is sent once more on a fresh connection.
      if (call.signal.aborted || !STALE_SOCKET.has((e as { code?: string })?.code ?? "")) throw e;
      res = await send();
    }
    const body = res.body;
    return {
      status: res.statusCode,
      header: (name) => {
        const v = res.headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
      body: body as unknown as UpstreamAnswer["body"],
      text: () => body.text(),
      json: () => body.json(),
    };
  }

  /** Closes every pool (tests, shutdown). */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }
}

/** The process's shared pools (providers built by the factory use these). */
export const sharedUpstreamPools = new UpstreamPools();
