import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import type { MiddlewareHandler } from "hono";

/** Paths the console never answers: the APIs, health and metrics keep their own 404s. */
export const RESERVED_PREFIXES = ["/api", "/ajax-api", "/v2", "/llm", "/graphql", "/health", "/metrics"];

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

export function isReserved(path: string): boolean {
  return RESERVED_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}.`));
}

/**
 * The console's files from `root` (the Vite build): `/assets/*` by name (hashed, cached for a
 * year), any other GET that is not an API path answers index.html (the SPA routes it). Reserved
 * paths and non-GET requests pass through untouched. With no build at `root`, console paths
 * answer a short page saying how to build it.
 */
export function serveConsole(root: string): MiddlewareHandler {
  const base = normalize(root + sep);
  return async (c, next) => {
    const method = c.req.method;
    const path = c.req.path;
    if ((method !== "GET" && method !== "HEAD") || isReserved(path)) return next();
    let rel: string;
    try {
      rel = decodeURIComponent(path).replace(/^\/+/, "");
    } catch {
      return next();
    }
    const file = normalize(join(base, rel));
    if (rel && file.startsWith(base) && extname(file) && (await isFile(file))) {
      const body = await readFile(file);
      return c.body(body, 200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": rel.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
        "x-content-type-options": "nosniff",
      });
    }
    // A missing asset is a 404, never the page (a stale tab would run HTML as a script).
    if (rel.startsWith("assets/") || extname(rel) === ".js" || extname(rel) === ".css") return next();
    const index = join(base, "index.html");
    if (!(await isFile(index))) {
      return c.html(
        "<!doctype html><title>Keel</title><p>The Keel console is not built. Run <code>npm run build -w @keel/console</code> (npm start does it).</p>",
        200,
      );
    }
    return c.body(await readFile(index), 200, {
      "content-type": TYPES[".html"],
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
    });
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
