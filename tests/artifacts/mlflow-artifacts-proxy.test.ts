import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/**
 * The MLflow artifact proxy over real HTTP, replaying the requests MLflow 2.x's
 * `HttpArtifactRepository` sends for `mlflow-artifacts:/<experiment>/<run>/artifacts` URIs
 * (log_artifact(s), list_artifacts, download_artifacts, multipart upload, delete).
 */
let platform: Awaited<ReturnType<typeof startTestPlatform>>;
const API = "/api/2.0/mlflow-artifacts";
const RUN = "1/0123456789abcdef/artifacts";

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.close();
});

/** `log_artifact`: PUT the file's bytes to <artifact_uri>/<artifact_path>/<name> with its mime type. */
const logArtifact = (
  path: string,
  body: string | ReadableStream<Uint8Array>,
  contentType = "application/octet-stream",
) =>
  fetch(`${platform.url}${API}/artifacts/${RUN}/${path}`, {
    method: "PUT",
    headers: { "Content-Type": contentType },
    body,
    duplex: "half",
  } as RequestInit);

/** `list_artifacts(path)`: GET ?path=<run root>/<path>. */
const listArtifacts = async (path?: string) => {
  const q = new URLSearchParams({ path: path ? `${RUN}/${path}` : RUN });
  const r = await platform.call("GET", `${API}/artifacts?${q}`);
  expect(r.status).toBe(200);
  return r.json as { files?: Array<{ path: string; is_dir: boolean; file_size?: number }> };
};

const download = (path: string) => fetch(`${platform.url}${API}/artifacts/${RUN}/${path}`);

/** What `download_artifacts` does for a directory: list, recurse into dirs, GET each file. */
async function downloadTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await listArtifacts(dir)).files ?? []) {
    const rel = dir ? `${dir}/${f.path}` : f.path;
    if (f.is_dir) Object.assign(out, await downloadTree(rel));
    else out[rel] = await (await download(rel)).text();
  }
  return out;
}

/**
 * A request with the path sent exactly as written: fetch's URL parser would resolve
 * `%2E%2E` segments client-side, and a hostile client does not.
 */
function rawRequest(
  method: string,
  path: string,
  body: string,
): Promise<{ status: number; json: { error_code?: string; message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${platform.url}${path}`,
      { method, headers: { "content-type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString() || "{}"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(method === "PUT" || method === "POST" ? body : undefined);
  });
}

describe("MLflow artifact proxy: upload, list, download, delete", () => {
  it("uploads a file, lists it with its size and downloads it with MLflow's headers", async () => {
    const put = await logArtifact("model/MLmodel", "artifact_path: model\nflavors: {}\n", "text/plain");
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({});

    expect(await listArtifacts("model")).toEqual({
      files: [{ path: "MLmodel", is_dir: false, file_size: 33 }],
    });
    const got = await download("model/MLmodel");
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("artifact_path: model\nflavors: {}\n");
    expect(got.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(got.headers.get("content-disposition")).toBe("attachment; filename=MLmodel");
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("uploads a directory of files (log_artifacts) and downloads the tree back", async () => {
    const files: Record<string, string> = {
      "data/train.csv": "a,b\n1,2\n",
      "data/nested/deep.json": '{"k": 1}',
      "data/readme.txt": "hello",
    };
    for (const [p, body] of Object.entries(files)) expect((await logArtifact(p, body)).status).toBe(200);

    expect(await listArtifacts("data")).toEqual({
      files: [
        { path: "nested", is_dir: true },
        { path: "readme.txt", is_dir: false, file_size: 5 },
        { path: "train.csv", is_dir: false, file_size: 8 },
      ],
    });
    expect(await downloadTree("data")).toEqual(files);
    // MLflow serves its text extensions (json included) as text/plain.
    expect((await download("data/nested/deep.json")).headers.get("content-type")).toMatch(/^text\/plain/);
  });

  it("streams a chunked upload of many MB and streams it back byte for byte", async () => {
    const data = randomBytes(24 * 1024 * 1024 + 3);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < data.length; at += 1024 * 1024)
          controller.enqueue(data.subarray(at, at + 1024 * 1024));
        controller.close();
      },
    });
    expect((await logArtifact("big/weights.bin", body)).status).toBe(200);
    const res = await download("big/weights.bin");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    const got = Buffer.from(await res.arrayBuffer());
    expect(createHash("sha256").update(got).digest("hex")).toBe(
      createHash("sha256").update(data).digest("hex"),
    );
  });

  it("lists the root, returns {} for an empty or absent directory and for a file", async () => {
    const root = await platform.call("GET", `${API}/artifacts`);
    expect(root.status).toBe(200);
    expect(root.json.files.map((f: { path: string }) => f.path)).toContain("1");
    expect(await listArtifacts("no-such-dir")).toEqual({});
    expect(await listArtifacts("model/MLmodel")).toEqual({});
  });

  it("deletes a file and a directory", async () => {
    await logArtifact("tmp/a.txt", "a");
    await logArtifact("tmp/sub/b.txt", "b");
    const del = await platform.call("DELETE", `${API}/artifacts/${RUN}/tmp/sub`);
    expect(del.status).toBe(200);
    expect(del.json).toEqual({});
    expect(await listArtifacts("tmp")).toEqual({ files: [{ path: "a.txt", is_dir: false, file_size: 1 }] });
    await platform.call("DELETE", `${API}/artifacts/${RUN}/tmp/a.txt`);
    expect(await listArtifacts("tmp")).toEqual({});

    // Every write and delete is in the audit log, under the caller's principal.
    const { events } = await platform.platform.deps.audit.list({ resourcePrefix: `artifact:${RUN}/tmp` });
    expect(events.map((e) => [e.action, e.resource])).toEqual([
      ["artifacts.put", `artifact:${RUN}/tmp/a.txt`],
      ["artifacts.put", `artifact:${RUN}/tmp/sub/b.txt`],
      ["artifacts.delete", `artifact:${RUN}/tmp/sub`],
      ["artifacts.delete", `artifact:${RUN}/tmp/a.txt`],
    ]);
    expect(events.every((e) => typeof e.principal === "string" && e.principal.length > 0)).toBe(true);
  });

  it("answers absent artifacts with 404 RESOURCE_DOES_NOT_EXIST in MLflow's JSON", async () => {
    const r = await platform.call("GET", `${API}/artifacts/${RUN}/nope.bin`);
    expect(r.status).toBe(404);
    expect(r.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(r.json.message).toContain("nope.bin");
    const dir = await platform.call("GET", `${API}/artifacts/${RUN}/data`);
    expect(dir.status).toBe(404);
  });

  it("rejects traversal and absolute paths with 400 and writes nothing", async () => {
    const attempts: Array<[string, string]> = [
      ["PUT", `${API}/artifacts/${RUN}/..%2F..%2F..%2Fescape.txt`],
      ["GET", `${API}/artifacts/..%2Fetc%2Fpasswd`],
      ["GET", `${API}/artifacts?path=..%2F..`],
      ["GET", `${API}/artifacts?path=%2Fetc`],
      ["PUT", `${API}/artifacts/%2Fabsolute.txt`],
      ["DELETE", `${API}/artifacts/${RUN}/..%2F..%2F..`],
      ["POST", `${API}/mpu/create/..%2F..`],
    ];
    for (const [method, path] of attempts) {
      const r = await rawRequest(
        method,
        path,
        method === "POST" ? '{"path": "/tmp/x.bin", "num_parts": 1}' : "x",
      );
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.json.error_code, `${method} ${path}`).toBe("INVALID_PARAMETER_VALUE");
    }
    // Plain dot segments (also %2E-encoded ones) are resolved by the URL parser before routing
    // (RFC 3986), so they can only reach another route, never a path outside the root.
    for (const path of [`${API}/artifacts/%2E%2E/escape.txt`, `${API}/artifacts/../escape.txt`]) {
      expect([400, 404], path).toContain((await rawRequest("PUT", path, "x")).status);
    }
    expect(existsSync(join(platform.platform.deps.config.artifacts.root, "..", "escape.txt"))).toBe(false);
    expect((await rawRequest("PUT", `${API}/artifacts/${RUN}/bad%ZZ`, "x")).status).toBe(400);
    expect((await rawRequest("GET", `${API}/artifacts?path=..`, "")).status).toBe(400);
    const root = await platform.call("GET", `${API}/artifacts`);
    expect(root.json.files.map((f: { path: string }) => f.path)).not.toContain("escape.txt");
  });
});

describe("MLflow artifact proxy: multipart upload as the 2.x client drives it", () => {
  const PART = 5 * 1024 * 1024;

  /** `create_multipart_upload(local_file, num_parts, artifact_path)`. */
  const create = (
    artifactPath: string,
    localFile: string,
    numParts: number,
    headers: Record<string, string> = {},
  ) =>
    platform.call(
      "POST",
      `${API}/mpu/create/${RUN}/${artifactPath}`,
      { path: localFile, num_parts: numParts },
      headers,
    );

  /** `_upload_part`: requests.put(credential.url, data=chunk, headers=credential.headers). */
  const putPart = async (cred: { url: string; headers: Record<string, string> }, data: Buffer) => {
    const r = await fetch(cred.url, { method: "PUT", headers: cred.headers, body: data });
    expect(r.status).toBe(200);
    return r.headers.get("ETag") ?? "";
  };

  it("creates credentials, takes parts out of order and retried, completes into basename(local file)", async () => {
    const data = randomBytes(2 * PART + 1000);
    const chunks = [data.subarray(0, PART), data.subarray(PART, 2 * PART), data.subarray(2 * PART)];
    const c = await create("checkpoints", "/home/me/run/model.ckpt", 3, {
      Authorization: "Bearer abc.def.ghi",
    });
    expect(c.status).toBe(200);
    expect(typeof c.json.upload_id).toBe("string");
    expect(c.json.credentials).toHaveLength(3);
    c.json.credentials.forEach(
      (cred: { url: string; part_number: number; headers: Record<string, string> }, i: number) => {
        expect(cred.part_number).toBe(i + 1);
        expect(cred.url.startsWith(`${platform.url}${API}/artifacts/${RUN}/checkpoints/model.ckpt?`)).toBe(
          true,
        );
        expect(cred.headers).toEqual({ Authorization: "Bearer abc.def.ghi" });
      },
    );
    const creds = c.json.credentials;
    const e3 = await putPart(creds[2], chunks[2]);
    await putPart(creds[0], randomBytes(PART)); // a first attempt that the retry replaces
    const e1 = await putPart(creds[0], chunks[0]);
    const e2 = await putPart(creds[1], chunks[1]);
    expect(e1).toMatch(/^".+"$/);

    const parts = [
      { part_number: 1, etag: e1, url: creds[0].url },
      { part_number: 2, etag: e2, url: creds[1].url },
      { part_number: 3, etag: e3, url: creds[2].url },
    ];
    const done = await platform.call("POST", `${API}/mpu/complete/${RUN}/checkpoints`, {
      path: "/home/me/run/model.ckpt",
      upload_id: c.json.upload_id,
      parts,
    });
    expect(done.status).toBe(200);
    expect(done.json).toEqual({});
    const got = Buffer.from(await (await download("checkpoints/model.ckpt")).arrayBuffer());
    expect(got.equals(data)).toBe(true);
    const { events } = await platform.platform.deps.audit.list({
      resource: `artifact:${RUN}/checkpoints/model.ckpt`,
    });
    expect(events.map((e) => e.action)).toEqual(["artifacts.put"]);
  });

  it("aborts an upload: later parts and completion are RESOURCE_DOES_NOT_EXIST, nothing is written", async () => {
    const c = await create("", "C:\\data\\table.parquet", 2);
    expect(c.status).toBe(200);
    expect(c.json.credentials[0].headers).toEqual({});
    expect(c.json.credentials[0].url).toContain(`/artifacts/${RUN}/table.parquet?`);
    await putPart(c.json.credentials[0], randomBytes(PART));
    const abort = await platform.call("POST", `${API}/mpu/abort/${RUN}`, {
      path: "C:\\data\\table.parquet",
      upload_id: c.json.upload_id,
    });
    expect(abort.status).toBe(200);
    const late = await fetch(c.json.credentials[1].url, { method: "PUT", body: "x" });
    expect(late.status).toBe(404);
    const complete = await platform.call("POST", `${API}/mpu/complete/${RUN}`, {
      path: "C:\\data\\table.parquet",
      upload_id: c.json.upload_id,
      parts: [{ part_number: 1, etag: "x" }],
    });
    expect(complete.status).toBe(404);
    expect(complete.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect((await download("table.parquet")).status).toBe(404);
  });

  it("validates bodies like MLflow's handlers: required fields, int-like num_parts, part ranges", async () => {
    const missing = await platform.call("POST", `${API}/mpu/create/${RUN}`, { num_parts: 2 });
    expect(missing.status).toBe(400);
    expect(missing.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(missing.json.message).toContain("path");
    const asString = await create("x", "/tmp/f.bin", "2" as unknown as number);
    expect(asString.status).toBe(200);
    expect(asString.json.credentials).toHaveLength(2);
    expect((await create("x", "/tmp/f.bin", 0)).status).toBe(400);
    expect((await create("x", "/tmp/f.bin", 10001)).status).toBe(400);
    const malformed = await platform.call("POST", `${API}/mpu/complete/${RUN}`, "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.json.error_code).toBe("MALFORMED_REQUEST");
    const noParts = await platform.call("POST", `${API}/mpu/complete/${RUN}`, {
      path: "/tmp/f.bin",
      upload_id: asString.json.upload_id,
      parts: [],
    });
    expect(noParts.status).toBe(400);
    const badPart = await fetch(
      `${platform.url}${API}/artifacts/${RUN}/x/f.bin?upload_id=${asString.json.upload_id}`,
      {
        method: "PUT",
        body: "x",
      },
    );
    expect(badPart.status).toBe(400);
    const tooSmall = await platform.call("POST", `${API}/mpu/complete/${RUN}/x`, {
      path: "/tmp/f.bin",
      upload_id: asString.json.upload_id,
      parts: [
        { part_number: 1, etag: await putPart(asString.json.credentials[0], Buffer.from("small")) },
        { part_number: 2, etag: await putPart(asString.json.credentials[1], Buffer.from("last")) },
      ],
    });
    expect(tooSmall.status).toBe(400);
    expect(tooSmall.json.message).toContain("smaller than");
  });
});
