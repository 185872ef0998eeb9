import { invalidParam } from "./errors";

/**
 * Page tokens are opaque to clients: base64url JSON of an offset into a deterministic ordering
 * plus a fingerprint of the query, so a token cannot be replayed against a different search.
 */
export function encodePageToken(offset: number, query: string): string {
  return Buffer.from(JSON.stringify({ o: offset, q: fingerprint(query) })).toString("base64url");
}

export function decodePageToken(token: string | undefined, query: string): number {
  if (token === undefined || token === "") return 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalidParam(`Invalid page token '${token.slice(0, 40)}': it was not issued by this server`);
  }
  const p = parsed as { o?: unknown; q?: unknown };
  if (!p || typeof p.o !== "number" || !Number.isSafeInteger(p.o) || p.o < 0 || p.q !== fingerprint(query)) {
    throw invalidParam(`Invalid page token '${token.slice(0, 40)}': it does not belong to this query`);
  }
  return p.o;
}

function fingerprint(s: string): string {
  // FNV-1a: short and stable; this detects misuse, it is not a security boundary.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}
