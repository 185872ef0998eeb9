/**
 * Who the console calls as: a token (`keel dev --auth`, a JWT) and/or, on a laptop-mode server,
 * the name to record (`x-keel-principal`). Kept in this browser's localStorage; a token from
 * the identity provider (`oidc`) only in this tab's sessionStorage. No imports: the first
 * script (prefetch.ts) reads it before the app's code has loaded.
 */
export interface Session {
  token?: string;
  principal?: string;
  oidc?: { endSession?: string; clientId: string };
}

export const SESSION_KEY = "keel.console.session";

export function loadSession(): Session {
  try {
    return JSON.parse(
      sessionStorage.getItem(SESSION_KEY) ?? localStorage.getItem(SESSION_KEY) ?? "{}",
    ) as Session;
  } catch {
    return {};
  }
}

/** Headers for the few plain fetches that sit beside the typed client (downloads, streams, prefetch). */
export function authHeaders(): Record<string, string> {
  const s = loadSession();
  const h: Record<string, string> = {};
  if (s.token) h.authorization = `Bearer ${s.token}`;
  if (s.principal) h["x-keel-principal"] = s.principal;
  return h;
}
