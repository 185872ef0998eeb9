import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface OidcUser {
  sub: string;
  email: string;
  groups?: string[];
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  nonce?: string;
}

/**
 * A small but real OpenID Connect provider for tests: discovery, an authorize endpoint that
 * signs `user` in at once and redirects back with a one-time code, a token endpoint that checks
 * the client, the redirect URI and the PKCE verifier (S256 only), and the JWKS its RS256 tokens
 * verify against. `exchanges` records every token request and its outcome.
 */
export async function startOidcServer(opts: { clientId: string; user: OidcUser }) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomBytes(8).toString("hex");
  const codes = new Map<string, PendingCode>();
  const exchanges: Array<{ status: number; error?: string }> = [];
  const authorizations: Array<Record<string, string>> = [];
  let issuer = "";

  const jwt = (claims: Record<string, unknown>) => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const body = `${enc({ alg: "RS256", typ: "JWT", kid })}.${enc(claims)}`;
    return `${body}.${sign("sha256", Buffer.from(body), privateKey).toString("base64url")}`;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      "content-type": "application/json",
      "access-control-allow-origin": "*",
      "cache-control": "no-store",
      ...headers,
    });
    res.end(JSON.stringify(body));
  };

  const token = (res: ServerResponse, form: URLSearchParams) => {
    const fail = (error: string) => {
      exchanges.push({ status: 400, error });
      send(res, 400, { error });
    };
    if (form.get("grant_type") !== "authorization_code") return fail("unsupported_grant_type");
    const code = form.get("code") ?? "";
    const pending = codes.get(code);
    codes.delete(code); // one use only
    if (!pending) return fail("invalid_grant");
    if (form.get("client_id") !== pending.clientId || form.get("redirect_uri") !== pending.redirectUri)
      return fail("invalid_grant");
    const verifier = form.get("code_verifier") ?? "";
    if (createHash("sha256").update(verifier).digest("base64url") !== pending.challenge)
      return fail("invalid_grant");
    const now = Math.floor(Date.now() / 1000);
    const common = { iss: issuer, sub: opts.user.sub, iat: now, exp: now + 3600 };
    const groups = opts.user.groups ? { "cognito:groups": opts.user.groups } : {};
    exchanges.push({ status: 200 });
    send(res, 200, {
      token_type: "Bearer",
      expires_in: 3600,
      id_token: jwt({
        ...common,
        aud: pending.clientId,
        email: opts.user.email,
        nonce: pending.nonce,
        ...groups,
      }),
      access_token: jwt({ ...common, client_id: pending.clientId, scope: pending.scope, ...groups }),
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", issuer);
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": "content-type",
      });
      return res.end();
    }
    if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration")
      return send(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        code_challenge_methods_supported: ["S256"],
        grant_types_supported: ["authorization_code"],
      });
    if (req.method === "GET" && url.pathname === "/jwks")
      return send(res, 200, {
        keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }],
      });
    if (req.method === "GET" && url.pathname === "/authorize") {
      const q = Object.fromEntries(url.searchParams);
      authorizations.push(q);
      const ok =
        q.response_type === "code" &&
        q.client_id === opts.clientId &&
        q.code_challenge_method === "S256" &&
        !!q.code_challenge &&
        !!q.redirect_uri &&
        !!q.state;
      if (!ok) return send(res, 400, { error: "invalid_request" });
      const code = randomBytes(16).toString("base64url");
      codes.set(code, {
        clientId: q.client_id,
        redirectUri: q.redirect_uri,
        challenge: q.code_challenge,
        scope: q.scope ?? "openid",
        nonce: q.nonce,
      });
      const back = new URL(q.redirect_uri);
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.state);
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (req.method === "POST" && url.pathname === "/token") {
      let raw = "";
      for await (const chunk of req) raw += chunk;
      return token(res, new URLSearchParams(raw));
    }
    send(res, 404, { error: "not_found" });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, { error: String(e) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    exchanges,
    authorizations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
