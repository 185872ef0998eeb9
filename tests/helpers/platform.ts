import { type LocalOptions, startLocalPlatform } from "@keel/local";
import { afterAll, beforeAll } from "vitest";

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

export type TestPlatform = Awaited<ReturnType<typeof startTestPlatform>>;

/**
 * One platform for the whole test file (started in `beforeAll`, closed in `afterAll`), with
 * `ok`: a call under `prefix` that must answer 200 (else the test fails with the answer), and
 * `experiment`: creates an MLflow experiment by name and gives its id.
 */
export function platformForFile(opts: LocalOptions = {}, prefix = "") {
  let started: TestPlatform | undefined;
  beforeAll(async () => {
    started = await startTestPlatform(opts);
  });
  afterAll(async () => {
    await started?.close();
  });
  const current = (): TestPlatform => {
    if (!started) throw new Error("the test platform is not started (use it inside a test)");
    return started;
  };
  const call: TestPlatform["call"] = (...args) => current().call(...args);
  const okAt = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const r = await call(method, path, body, headers);
    if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status} ${r.text}`);
    return r.json;
  };
  const ok = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    okAt(method, `${prefix}${path}`, body, headers);
  const experiment = async (name: string): Promise<string> =>
    (await okAt("POST", "/api/2.0/mlflow/experiments/create", { name })).experiment_id;
  return {
    call,
    ok,
    experiment,
    get platform() {
      return current().platform;
    },
  };
}
