import { ROLES, type Role, withContext } from "@keel/core";
import { buildMlp } from "../../bench/serving-onnx-mlp";
import type { startTestPlatform } from "../helpers/platform";
import { specFor } from "../serving/fixtures";

export type TestPlatform = Awaited<ReturnType<typeof startTestPlatform>>;

/** Runs `fn` in-process as `principal` holding only `roles` (the service-level rules, whatever the edge does). */
export const as = <T>(principal: string, roles: readonly Role[], fn: () => Promise<T>): Promise<T> =>
  withContext({ principal, requestId: `test-${principal}`, roles, kind: "user" }, fn);

/** Registers a new version of `model` whose model.onnx is the small MLP of `specFor(n)`; returns its artifact path. */
export async function registerVersion(p: TestPlatform, model: string, n: number) {
  const run = await p.call("POST", "/api/2.0/mlflow/runs/create", { experiment_id: "0" });
  const { run_id, artifact_uri } = run.json.run.info;
  const dir = `${String(artifact_uri).replace(/^mlflow-artifacts:\//, "")}/model`;
  const put = await fetch(`${p.url}/api/2.0/mlflow-artifacts/artifacts/${dir}/model.onnx`, {
    method: "PUT",
    body: buildMlp(specFor(n)),
  });
  if (put.status !== 200) throw new Error(`upload failed: ${put.status}`);
  await p.call("POST", "/api/2.0/mlflow/registered-models/create", { name: model });
  const mv = await p.call("POST", "/api/2.0/mlflow/model-versions/create", {
    name: model,
    source: `runs:/${run_id}/model`,
    run_id,
  });
  if (mv.status !== 200) throw new Error(`register failed: ${mv.status} ${mv.text}`);
  return { version: String(mv.json.model_version.version), modelPath: `${dir}/model.onnx` };
}

/** The documented four-eyes path: alice requests Production, bob approves. */
export async function approveForProduction(p: TestPlatform, model: string, version: string) {
  const registry = p.platform.services.registry;
  const req = await as("alice", ROLES, () =>
    registry.requestPromotion(model, version, { kind: "stage", stage: "Production" }, "ready"),
  );
  if (req.status === "APPROVED") return req;
  return as("bob", ROLES, () => registry.approvePromotion(req.id, "checked"));
}

export async function auditEvents(p: TestPlatform, action: string) {
  return (await p.platform.deps.audit.list({ action })).events;
}
