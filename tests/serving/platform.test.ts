import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMlp, mlpReference } from "../../bench/serving-onnx-mlp";
import { startTestPlatform } from "../helpers/platform";
import { rowsRequest, specFor } from "./fixtures";

/** Serving inside the whole local platform: registry versions deploy, production is gated. */
let p: Awaited<ReturnType<typeof startTestPlatform>>;

beforeAll(async () => {
  p = await startTestPlatform();
});

afterAll(async () => {
  await p?.close();
});

describe("serving in keel dev", () => {
  it("deploys a registered model version from the artifact store and serves it under /v2", async () => {
    const run = await p.call("POST", "/api/2.0/mlflow/runs/create", { experiment_id: "0" });
    expect(run.status).toBe(200);
    const { run_id, artifact_uri } = run.json.run.info;
    const path = `${String(artifact_uri).replace(/^mlflow-artifacts:\//, "")}/model/model.onnx`;
    const put = await fetch(`${p.url}/api/2.0/mlflow-artifacts/artifacts/${path}`, {
      method: "PUT",
      body: buildMlp(specFor(5)),
    });
    expect(put.status).toBe(200);
    expect(
      (await p.call("POST", "/api/2.0/mlflow/registered-models/create", { name: "scorer" })).status,
    ).toBe(200);
    const mv = await p.call("POST", "/api/2.0/mlflow/model-versions/create", {
      name: "scorer",
      source: `runs:/${run_id}/model`,
      run_id,
    });
    expect(mv.status).toBe(200);

    const denied = await p.call("POST", "/api/v1/deployments", {
      name: "scorer-prod",
      model: "scorer",
      version: "1",
      environment: "production",
    });
    expect(denied.status).toBe(403);
    expect(denied.json.message).toMatch(/not approved for production/);

    const created = await p.call("POST", "/api/v1/deployments", {
      name: "scorer",
      model: "scorer",
      version: "1",
    });
    expect(created.status).toBe(201);
    const r = await p.call("POST", "/v2/models/scorer/infer", rowsRequest([[1, 2, 3, 4]], "e2e"));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: "e2e", model_name: "scorer", model_version: "1" });
    expect(r.json.outputs[0].data[0]).toBeCloseTo(mlpReference(specFor(5), [1, 2, 3, 4])[0], 4);
    expect((await p.call("GET", "/v2/models/scorer/ready")).status).toBe(200);
    const metrics = await fetch(`${p.url}/metrics`).then((x) => x.text());
    expect(metrics).toMatch(
      /keel_router_requests_total\{deployment="scorer",outcome="ok",role="stable",version="scorer@1"\} 1/,
    );
  });

  it("answers an unknown model or deployment with the protocol's 404", async () => {
    const r = await p.call("POST", "/v2/models/nothing/infer", rowsRequest([[1, 2, 3, 4]]));
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: "model 'nothing' is not loaded" });
    expect(
      (await p.call("POST", "/api/v1/deployments", { name: "x", model: "nothing", version: "1" })).status,
    ).toBe(404);
  });
});
