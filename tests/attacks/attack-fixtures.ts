import { createHash } from "node:crypto";
import type { Role } from "@keel/core";
import { createRun, mlflowClient, type TestPlatform } from "../registry/registry-fixtures";

export const ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts";

/** Calls Keel's own API (/api/v1) as `principal`. */
export const keelApi =
  (p: TestPlatform) => (method: string, path: string, body: unknown, principal: string) =>
    p.call(method, `/api/v1${path}`, body, { "x-keel-principal": principal });

export const sha256 = (s: string | Uint8Array) => createHash("sha256").update(s).digest("hex");

/** A context for service-level calls as a principal holding only `roles`. */
export const as = (principal: string, ...roles: Role[]) => ({ principal, requestId: "attack-test", roles });

/**
 * A run with `metrics`, whose `model/` directory holds `model.onnx` and `MLmodel` uploaded
 * through the artifact proxy, registered as a new version of `name` (created when absent).
 */
export async function registeredVersion(
  p: TestPlatform,
  name: string,
  metrics: Record<string, number> = { auc: 0.95 },
  files: Record<string, string> = { "model.onnx": "onnx-bytes-v1", MLmodel: "flavors: {}" },
) {
  const api = mlflowClient(p);
  const run = await createRun(p, { metrics });
  const root = run.artifactUri.replace(/^mlflow-artifacts:\//, "");
  for (const [file, body] of Object.entries(files)) {
    const r = await p.call("PUT", `${ARTIFACTS}/${root}/model/${file}`, body, {
      "content-type": "application/octet-stream",
    });
    if (r.status !== 200) throw new Error(`upload ${file}: ${r.status} ${r.text}`);
  }
  const exists = await api.call("GET", `/registered-models/get?name=${encodeURIComponent(name)}`);
  if (exists.status !== 200) await api.ok("POST", "/registered-models/create", { name });
  const { model_version } = await api.ok("POST", "/model-versions/create", {
    name,
    source: `runs:/${run.runId}/model`,
    run_id: run.runId,
  });
  return { ...run, root, modelPrefix: `${root}/model`, version: String(model_version.version) };
}

/** Requests a promotion as alice and has bob approve it; returns the approved request. */
export async function promote(p: TestPlatform, name: string, version: string, target: object) {
  const keel = keelApi(p);
  const req = await keel("POST", `/models/${name}/versions/${version}/promotions`, target, "alice");
  if (req.status !== 201) throw new Error(`request: ${req.status} ${req.text}`);
  const ok = await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "bob");
  if (ok.status !== 200) throw new Error(`approve: ${ok.status} ${ok.text}`);
  return ok.json.promotion;
}
