import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRepoDir, offlineRootOf } from "@keel/features";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDriverRepo } from "../features/helpers/driver-repo";
import { startTestPlatform } from "../helpers/platform";

/**
 * Issue 11, finding 6: `keel dev` as a hostile web page, a DNS rebinding attacker or a careless
 * caller would use it. Each attack below worked on the platform before this hardening.
 */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
const scratch = mkdtempSync(join(tmpdir(), "keel-finding-6-"));
const API = "/api/2.0/mlflow";

beforeAll(async () => {
  p = await startTestPlatform();
});
afterAll(async () => {
  await p?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A request with exactly these headers (fetch adds a content type to string bodies and fixes Host). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; json: Record<string, unknown> | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: p.port, method, path, headers: { host: `127.0.0.1:${p.port}`, ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => {
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const experimentExists = async (name: string) =>
  (await p.call("GET", `${API}/experiments/get-by-name?experiment_name=${name}`)).status === 200;

describe("content types (CSRF through simple requests)", () => {
  it("refuses text/plain, form and untyped bodies with 415 and changes nothing", async () => {
    const body = JSON.stringify({ name: "csrf-plain" });
    for (const type of ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"]) {
      const r = await raw("POST", `${API}/experiments/create`, { "content-type": type }, body);
      expect(r.status, type).toBe(415);
      expect(r.json).toMatchObject({
        error_code: "UNSUPPORTED_MEDIA_TYPE",
        message: expect.stringContaining("Content-Type: application/json"),
      });
    }
    const untyped = await raw("POST", `${API}/experiments/create`, {}, body);
    expect(untyped.status).toBe(415);
    expect(await experimentExists("csrf-plain")).toBe(false);
  });

  it("accepts JSON (with parameters, +json) and empty bodies without a type", async () => {
    const json = await raw(
      "POST",
      `${API}/experiments/create`,
      { "content-type": "application/json; charset=utf-8" },
      JSON.stringify({ name: "typed-json" }),
    );
    expect(json.status).toBe(200);
    const plusJson = await raw(
      "POST",
      `${API}/experiments/create`,
      { "content-type": "application/vnd.keel+json" },
      JSON.stringify({ name: "typed-plus-json" }),
    );
    expect(plusJson.status).toBe(200);
    const empty = await raw("POST", "/api/v1/pipelines/runs/no-such-run/stop", {});
    expect(empty.status).toBe(404);
  });

  it("accepts the protocols' own bodies: artifact files of any type, KServe v2 binary", async () => {
    const put = await raw(
      "PUT",
      "/api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/notes.txt",
      { "content-type": "text/plain" },
      "hello",
    );
    expect(put.status).toBe(200);
    const binary = await raw(
      "POST",
      "/v2/models/none/infer",
      { "content-type": "application/octet-stream", "inference-header-content-length": "2" },
      "{}",
    );
    // Past the guard: the server decodes the binary extension and validates the request.
    expect(binary.status).toBe(400);
    expect(String(binary.json?.error)).toContain("invalid inference request");
    const untyped = await raw("POST", "/v2/models/none/infer", {}, "{}");
    expect(untyped.status).not.toBe(415);
    const plain = await raw("POST", "/v2/models/none/infer", { "content-type": "text/plain" }, "{}");
    expect(plain.status).toBe(415);
    const octet = await raw(
      "POST",
      "/v2/models/none/infer",
      { "content-type": "application/octet-stream" },
      "{}",
    );
    expect(octet.status).toBe(415);
    expect(String(octet.json?.error)).toContain("application/json");
  });
});

describe("cross-origin requests and DNS rebinding", () => {
  it("refuses state-changing requests from a foreign Origin, and sends no CORS headers", async () => {
    const body = JSON.stringify({ name: "csrf-origin" });
    const json = { "content-type": "application/json" };
    for (const origin of ["http://evil.example", "null", `http://127.0.0.1.evil.example:${p.port}`]) {
      const r = await raw("POST", `${API}/experiments/create`, { ...json, origin }, body);
      expect(r.status, origin).toBe(403);
      expect(r.json).toMatchObject({
        error_code: "PERMISSION_DENIED",
        message: expect.stringContaining(origin),
      });
    }
    expect(await experimentExists("csrf-origin")).toBe(false);
    const del = await raw("DELETE", "/api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/notes.txt", {
      origin: "http://evil.example",
    });
    expect(del.status).toBe(403);

    for (const origin of [`http://127.0.0.1:${p.port}`, `http://localhost:${p.port}`]) {
      const name = `same-origin-${origin.includes("localhost") ? "localhost" : "ip"}`;
      const r = await raw("POST", `${API}/experiments/create`, { ...json, origin }, JSON.stringify({ name }));
      expect(r.status, origin).toBe(200);
    }
    const read = await raw("GET", "/api/v1/health", { origin: "http://evil.example" });
    expect(read.status).toBe(200);
    expect(read.headers["access-control-allow-origin"]).toBeUndefined();
    const preflight = await raw("OPTIONS", `${API}/experiments/create`, {
      origin: "http://evil.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    });
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("answers only to its own Host names (bound host, localhost, 127.0.0.1, [::1] on its port)", async () => {
    for (const host of [`127.0.0.1:${p.port}`, `localhost:${p.port}`, `[::1]:${p.port}`]) {
      expect((await raw("GET", "/api/v1/health", { host })).status, host).toBe(200);
    }
    for (const host of [`evil.example:${p.port}`, "evil.example", `localhost:${p.port + 1}`]) {
      const r = await raw("GET", "/api/v1/health", { host });
      expect(r.status, host).toBe(421);
      expect(r.json).toMatchObject({
        error_code: "MISDIRECTED_REQUEST",
        message: expect.stringContaining("rebinding"),
      });
    }
    const write = await raw(
      "POST",
      `${API}/experiments/create`,
      { host: "rebound.evil.example", "content-type": "application/json" },
      JSON.stringify({ name: "rebound" }),
    );
    expect(write.status).toBe(421);
    expect(await experimentExists("rebound")).toBe(false);
  });
});

describe("configured extra hosts and origins", () => {
  it("answers KEEL_ALLOWED_HOSTS names and takes writes from KEEL_ALLOWED_ORIGINS, nothing more", async () => {
    const q = await startTestPlatform({
      config: { http: { allowedHosts: ["keel.internal"], allowedOrigins: ["https://ui.example"] } },
    });
    try {
      const at = (host: string, origin?: string) =>
        new Promise<number>((resolve, reject) => {
          const req = request(
            {
              host: "127.0.0.1",
              port: q.port,
              method: "POST",
              path: `${API}/experiments/create`,
              headers: { host, "content-type": "application/json", ...(origin ? { origin } : {}) },
            },
            (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            },
          );
          req.on("error", reject);
          req.end(JSON.stringify({ name: `x-${Math.random()}` }));
        });
      expect(await at(`keel.internal:${q.port}`)).toBe(200);
      expect(await at(`other.internal:${q.port}`)).toBe(421);
      expect(await at(`127.0.0.1:${q.port}`, "https://ui.example")).toBe(200);
      expect(await at(`127.0.0.1:${q.port}`, "https://ui.example.evil")).toBe(403);
    } finally {
      await q.close();
    }
  });
});

describe("no code import from a path given over HTTP", () => {
  it("does not run an uploaded module named in POST /api/v1/pipelines", async () => {
    const marker = join(scratch, "pwned");
    const code = `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "ran");\n`;
    const put = await raw(
      "PUT",
      "/api/2.0/mlflow-artifacts/artifacts/0/evil/artifacts/pipe.mjs",
      { "content-type": "application/octet-stream" },
      code,
    );
    expect(put.status).toBe(200);
    const file = join(p.platform.deps.config.artifacts.root, "0/evil/artifacts/pipe.mjs");
    expect(existsSync(file)).toBe(true);
    const r = await p.call("POST", "/api/v1/pipelines", { file });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(existsSync(marker)).toBe(false);
    expect((await p.call("GET", "/api/v1/pipelines")).json.pipelines).toEqual([]);
  });
});

describe("outputs of API calls stay under the server's roots", () => {
  const repo = createDriverRepo(Date.now());
  afterAll(() => repo.cleanup());
  const entity_rows = [{ driver_id: 1001, event_timestamp: new Date().toISOString() }];
  const features = ["driver_hourly_stats:conv_rate"];

  beforeAll(async () => {
    const applied = await p.call("POST", "/api/v1/features/apply", {
      definitions: await loadRepoDir(repo.dir),
    });
    expect(applied.status).toBe(200);
  });

  it("refuses an absolute or escaping out_path and writes nothing there", async () => {
    const outside = join(scratch, "written-anywhere.parquet");
    for (const out_path of [
      outside,
      "../../escaped.parquet",
      "sets/../../../x.parquet",
      "s3://other/x.parquet",
    ]) {
      const r = await p.call("POST", "/api/v1/features/historical", { entity_rows, features, out_path });
      expect(r.status, out_path).toBe(400);
      expect(r.json.message).toContain("out_path");
    }
    expect(existsSync(outside)).toBe(false);
  });

  it("writes a relative out_path under the offline root's outputs and returns where", async () => {
    const r = await p.call("POST", "/api/v1/features/historical", {
      entity_rows,
      features,
      out_path: "training-sets/drivers.parquet",
    });
    expect(r.status).toBe(200);
    const outputs = join(offlineRootOf(p.platform.deps.config), "outputs");
    expect(r.json.uri).toBe(join(outputs, "training-sets/drivers.parquet"));
    expect(existsSync(r.json.uri)).toBe(true);
  });

  it("reads entities_path only under the server's data dir or offline root", async () => {
    const r = await p.call("POST", "/api/v1/features/historical", {
      entities_path: join(repo.dir, "data/customers.parquet"),
      features,
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toContain("entities_path");
    const traversal = await p.call("POST", "/api/v1/features/historical", {
      entities_path: "s3://b/../../x",
      features,
    });
    expect(traversal.status).toBe(400);
  });
});

describe("over-long ids and names", () => {
  const long = "a".repeat(3000);

  it("answers 4xx, never 5xx, on every tracking and registry endpoint", async () => {
    const exp = (await p.call("POST", `${API}/experiments/create`, { name: "long-ids" })).json.experiment_id;
    const run = (await p.call("POST", `${API}/runs/create`, { experiment_id: exp })).json.run.info.run_id;
    const calls: Array<[string, string, unknown?]> = [
      ["GET", `experiments/get?experiment_id=${long}`],
      ["GET", `experiments/get-by-name?experiment_name=${long}`],
      ["POST", "experiments/create", { name: long }],
      ["POST", "experiments/update", { experiment_id: long, new_name: "x" }],
      ["POST", "experiments/delete", { experiment_id: long }],
      ["POST", "experiments/restore", { experiment_id: long }],
      ["POST", "experiments/set-experiment-tag", { experiment_id: long, key: "k", value: "v" }],
      ["POST", "experiments/delete-experiment-tag", { experiment_id: long, key: "k" }],
      ["POST", "runs/create", { experiment_id: long }],
      ["GET", `runs/get?run_id=${long}`],
      ["POST", "runs/update", { run_id: long, status: "FINISHED" }],
      ["POST", "runs/delete", { run_id: long }],
      ["POST", "runs/restore", { run_id: long }],
      ["POST", "runs/log-metric", { run_id: long, key: "m", value: 1, timestamp: 1 }],
      ["POST", "runs/log-metric", { run_id: run, key: long, value: 1, timestamp: 1 }],
      ["POST", "runs/log-parameter", { run_id: long, key: "p", value: "1" }],
      ["POST", "runs/set-tag", { run_id: long, key: "t", value: "1" }],
      ["POST", "runs/delete-tag", { run_id: long, key: "t" }],
      ["POST", "runs/log-batch", { run_id: long, metrics: [{ key: "m", value: 1, timestamp: 1 }] }],
      ["POST", "runs/log-inputs", { run_id: long, datasets: [] }],
      ["GET", `metrics/get-history?run_id=${long}&metric_key=m`],
      ["GET", `metrics/get-history?run_id=${run}&metric_key=${long}`],
      ["GET", `artifacts/list?run_id=${long}`],
      ["POST", "runs/search", { experiment_ids: [long] }],
      ["POST", "registered-models/create", { name: long }],
      ["GET", `registered-models/get?name=${long}`],
      ["POST", "registered-models/rename", { name: long, new_name: "x" }],
      ["DELETE", "registered-models/delete", { name: long }],
      ["GET", `registered-models/get-latest-versions?name=${long}`],
      ["POST", "registered-models/set-tag", { name: long, key: "k", value: "v" }],
      ["POST", "registered-models/alias", { name: long, alias: "a", version: "1" }],
      ["GET", `registered-models/alias?name=${long}&alias=a`],
      ["POST", "model-versions/create", { name: long, source: `runs:/${run}/model`, run_id: run }],
      ["GET", `model-versions/get?name=${long}&version=1`],
      ["POST", "model-versions/transition-stage", { name: long, version: "1", stage: "Staging" }],
      ["POST", "model-versions/set-tag", { name: long, version: "1", key: "k", value: "v" }],
    ];
    const fives: string[] = [];
    for (const [method, path, body] of calls) {
      const r = await p.call(method, `${API}/${path}`, body);
      if (r.status >= 500 || r.status < 400)
        fives.push(`${method} ${path.slice(0, 40)} -> ${r.status} ${r.text.slice(0, 120)}`);
    }
    for (const path of [
      `/api/v1/models/${long}/policy`,
      `/api/v1/models/${long}/lineage`,
      `/api/v1/deployments/${long}`,
    ]) {
      const r = await p.call("GET", path);
      if (r.status >= 500 || r.status < 400)
        fives.push(`GET ${path.slice(0, 40)} -> ${r.status} ${r.text.slice(0, 120)}`);
    }
    expect(fives).toEqual([]);
  });

  it("names the over-long value in a 400 INVALID_PARAMETER_VALUE", async () => {
    const r = await p.call("GET", `${API}/runs/get?run_id=${long}`);
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(r.json.message).toMatch(/too long/);
    expect(r.json.message).toContain("aaaa");
    expect(r.json.message.length).toBeLessThan(400);
  });
});
