import type { Hono } from "hono";
import { handle } from "hono/aws-lambda";

/**
 * API Gateway HTTP API (payload 2.0) events as functions/api.ts receives them, with the
 * authorizer context API Gateway adds after verifying a JWT or an IAM (SigV4) signature.
 * HTTP APIs flatten claims to strings: groups arrive as "[a b]".
 */
export type Authorizer =
  | { jwt: { claims: Record<string, string>; scopes?: string[] } }
  | { iam: { userArn: string; accountId: string; callerId: string } }
  | undefined;

export const ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_KeelTest";

/** Claims of a Cognito ID token (e-mail, groups) and of an access token (no e-mail) for one person. */
export const idToken = (sub: string, email: string, groups: string) => ({
  jwt: {
    claims: {
      iss: ISSUER,
      sub,
      email,
      email_verified: "true",
      "cognito:groups": groups,
      token_use: "id",
      aud: "keel-notebooks",
    },
  },
});
export const accessToken = (sub: string, groups: string) => ({
  jwt: { claims: { iss: ISSUER, sub, "cognito:groups": groups, token_use: "access", username: sub } },
});
export const iamCaller = (role: string, session: string) => ({
  iam: {
    userArn: `arn:aws:sts::123456789012:assumed-role/${role}/${session}`,
    accountId: "123456789012",
    callerId: `AROAEXAMPLE:${session}`,
  },
});

/**
 * Invokes `app` as API Gateway's Lambda integration would. `host` is the Host header sent: a
 * test platform's app answers only its own host (keel dev's DNS-rebinding guard), which AWS
 * does not configure.
 */
export function lambdaInvoker(app: Hono, host = "api.keel.example") {
  const handler = handle(app);
  return async (
    method: string,
    path: string,
    opts: { authorizer?: Authorizer; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const [rawPath, rawQueryString = ""] = path.split("?");
    const headers: Record<string, string> = {
      host,
      ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
      ...opts.headers,
    };
    const event = {
      version: "2.0",
      routeKey: "$default",
      rawPath,
      rawQueryString,
      headers,
      requestContext: {
        accountId: "123456789012",
        apiId: "api",
        domainName: "api.keel.example",
        domainPrefix: "api",
        http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "10.0.0.1", userAgent: "test" },
        requestId: `req-${Math.random().toString(36).slice(2)}`,
        routeKey: "$default",
        stage: "$default",
        time: new Date().toISOString(),
        timeEpoch: Date.now(),
        ...(opts.authorizer ? { authorizer: opts.authorizer } : {}),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      isBase64Encoded: false,
    };
    // biome-ignore lint/suspicious/noExplicitAny: the event and context are shaped by hand, as API Gateway sends them
    const res = (await handler(event as any, {} as any)) as { statusCode: number; body: string };
    let json: unknown;
    try {
      json = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      json = undefined;
    }
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response JSON
    return { status: res.statusCode, json: json as any, text: res.body };
  };
}
