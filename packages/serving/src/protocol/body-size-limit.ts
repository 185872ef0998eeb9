import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";

/**
 * hono's `bodyLimit`, without its cost on the common case: hono's version reads
 * `c.req.raw.body` first, which makes @hono/node-server build a full web `Request` (a
 * ReadableStream over the socket, an AbortSignal) for every request, where the handler's own
 * `c.req.arrayBuffer()`/`text()` would read the body straight off the socket. A request that
 * declares its Content-Length (and no Transfer-Encoding) is checked on the header alone; any
 * other request (chunked) goes through hono's streaming check, unchanged.
 */
export function bodySizeLimit(opts: {
  maxSize: number;
  onError: (c: Context) => Response | Promise<Response>;
}): MiddlewareHandler {
  const streaming = bodyLimit(opts);
  return async (c, next) => {
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined) return streaming(c, next);
    if (Number.parseInt(length, 10) > opts.maxSize) return opts.onError(c);
    await next();
  };
}
