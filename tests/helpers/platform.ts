import { type LocalOptions, startLocalPlatform } from "@keel/local";

/**
 * The whole platform on a real HTTP server over loopback, with an in-memory dynalite and a
 * temporary artifact root, for one test file. Pass `dataDir` to test persistence.
 */
export async function startTestPlatform(opts: LocalOptions = {}) {
  const local = await startLocalPlatform({ port: 0, ...opts });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${local.url}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    // biome-ignore lint/suspicious/noExplicitAny: suites read arbitrary response JSON and assert on its shape
    return { status: res.status, json: json as any, text, headers: res.headers };
  };
  return { ...local, call };
}
