import { saveSession } from "./api";

/** The stage's identity provider as GET /api/v1/console/config describes it. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  scopes: string;
}

interface Pending {
  state: string;
  verifier: string;
  tokenEndpoint: string;
  clientId: string;
  redirectUri: string;
  endSession?: string;
}

const PENDING = "keel.console.oidc";

export async function loadOidcConfig(): Promise<OidcConfig | null> {
  const res = await fetch("/api/v1/console/config");
  if (!res.ok) return null;
  return ((await res.json()) as { oidc: OidcConfig | null }).oidc;
}

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const random = (n: number) => b64url(crypto.getRandomValues(new Uint8Array(n)));

async function discover(issuer: string) {
  const res = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`OIDC discovery at ${issuer} answered ${res.status}`);
  return (await res.json()) as {
    authorization_endpoint: string;
    token_endpoint: string;
    end_session_endpoint?: string;
  };
}

/** Authorization code flow with PKCE (S256): off to the identity provider, back at /signin/callback. */
export async function startOidcSignIn(cfg: OidcConfig) {
  const meta = await discover(cfg.issuer);
  const verifier = random(32);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const pending: Pending = {
    state: random(16),
    verifier,
    tokenEndpoint: meta.token_endpoint,
    clientId: cfg.clientId,
    redirectUri: `${location.origin}/signin/callback`,
    endSession: meta.end_session_endpoint,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(meta.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: "code",
    client_id: cfg.clientId,
    redirect_uri: pending.redirectUri,
    scope: cfg.scopes,
    state: pending.state,
    code_challenge: b64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  }))
    url.searchParams.set(k, v);
  location.assign(url.toString());
}

/**
 * Back from the identity provider: checks the state, exchanges the code with the verifier and
 * keeps the ID token for this tab only (sessionStorage), sent as Bearer by the sdk client.
 */
export async function finishOidcSignIn(query: URLSearchParams): Promise<void> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null") as Pending | null;
  sessionStorage.removeItem(PENDING);
  const error = query.get("error");
  if (error) throw new Error(`the identity provider refused: ${query.get("error_description") ?? error}`);
  if (!pending || query.get("state") !== pending.state)
    throw new Error("sign-in state does not match: start again from the sign-in page");
  const res = await fetch(pending.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: query.get("code") ?? "",
      redirect_uri: pending.redirectUri,
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await res.json().catch(() => ({}))) as {
    id_token?: string;
    access_token?: string;
    error?: string;
  };
  const token = body.id_token ?? body.access_token;
  if (!res.ok || !token) throw new Error(`the token exchange failed: ${body.error ?? res.status}`);
  saveSession({ token, oidc: { endSession: pending.endSession, clientId: pending.clientId } });
}

/** Forgets the session; with an identity provider that offers it, ends the session there too. */
export function signOut(session: { oidc?: { endSession?: string; clientId: string } }) {
  saveSession({});
  const end = session.oidc?.endSession;
  if (!end) return location.assign("/signin");
  const url = new URL(end);
  url.searchParams.set("client_id", session.oidc?.clientId ?? "");
  url.searchParams.set("post_logout_redirect_uri", `${location.origin}/signin`);
  url.searchParams.set("logout_uri", `${location.origin}/signin`);
  location.assign(url.toString());
}
