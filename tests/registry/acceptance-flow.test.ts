import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { createRun, mlflowClient, type TestPlatform } from "./registry-fixtures";

/**
 * The "done when", as the official MLflow 2.x client sends it (request shapes from
 * mlflow/store/model_registry/rest_store.py): register_model, set_registered_model_alias,
 * transition_model_version_stage, loading models:/ URIs; then governance, lineage, card, audit.
 */
let p: TestPlatform;

beforeAll(async () => {
  p = await startTestPlatform();
});
afterAll(async () => {
  await p?.close();
});

describe("a new user's path through the registry", () => {
  it("registers, aliases, is refused Production, gets a second approval, and can show where the model came from", async () => {
    const alice = mlflowClient(p);
    const run = await createRun(p, { metrics: { auc: 0.96 }, params: { lr: "0.1" }, pipelineRunId: "pr-7" });

    // mlflow.register_model("runs:/<id>/model", "payments"): create the model (409 is tolerated), then a version.
    await alice.ok("POST", "/registered-models/create", { name: "payments" });
    const again = await alice.call("POST", "/registered-models/create", { name: "payments" });
    expect(again.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
    const created = await alice.ok("POST", "/model-versions/create", {
      name: "payments",
      source: `runs:/${run.runId}/model`,
      run_id: run.runId,
      tags: [],
    });
    // The client polls get until READY.
    const polled = await alice.ok(
      "GET",
      `/model-versions/get?name=payments&version=${created.model_version.version}`,
    );
    expect(polled.model_version.status).toBe("READY");

    // MlflowClient().set_registered_model_alias("payments", "candidate", 1) and models:/payments@candidate.
    await alice.ok("POST", "/registered-models/alias", {
      name: "payments",
      alias: "candidate",
      version: "1",
    });
    const byAlias = await alice.ok("GET", "/registered-models/alias?name=payments&alias=candidate");
    const uri = await alice.ok(
      "GET",
      `/model-versions/get-download-uri?name=payments&version=${byAlias.model_version.version}`,
    );
    expect(uri.artifact_uri).toBe(`${run.artifactUri}/model`);

    // transition_model_version_stage(..., "Production") without approval is refused.
    const refused = await alice.call("POST", "/model-versions/transition-stage", {
      name: "payments",
      version: "1",
      stage: "Production",
      archive_existing_versions: false,
    });
    expect(refused.status).toBe(403);
    expect(refused.json.message).toContain("approved promotion request");

    const request = await p.call(
      "POST",
      "/api/v1/models/payments/versions/1/promotions",
      { stage: "Production", comment: "holdout auc 0.96" },
      { "x-keel-principal": "alice" },
    );
    const approval = await p.call(
      "POST",
      `/api/v1/promotions/${request.json.promotion.id}/approve`,
      { comment: "reviewed" },
      { "x-keel-principal": "bob" },
    );
    expect(approval.json.promotion.status).toBe("APPROVED");

    // models:/payments/Production: get-latest-versions (POST first, as call_all_endpoints tries it).
    const latest = await alice.ok("POST", "/registered-models/get-latest-versions", {
      name: "payments",
      stages: ["Production"],
    });
    expect(latest.model_versions.map((v: { version: string }) => v.version)).toEqual(["1"]);

    const lineage = await p.call("GET", "/api/v1/models/payments/versions/1/lineage");
    const types = new Set(lineage.json.lineage.nodes.map((n: { type: string }) => n.type));
    expect([...types].sort()).toEqual(
      ["dataset", "experiment", "feature_view", "model_version", "pipeline_run", "promotion", "run"].sort(),
    );
    const card = await p.call("GET", "/api/v1/models/payments/versions/1/card");
    expect(card.text).toContain("| stage | Production |");
    const id = request.json.promotion.id;
    expect(card.text).toMatch(
      new RegExp(`\\| ${id} \\| stage Production \\| APPROVED \\| alice \\(.+\\) \\| bob \\(.+\\) \\|`),
    );

    const verified = await p.call("GET", "/api/v1/audit/verify");
    expect(verified.json).toMatchObject({ ok: true });
    const approvals = await p.call("GET", "/api/v1/audit?action=registry.promotion.approve");
    expect(approvals.json.events.map((e: { principal: string }) => e.principal)).toEqual(["bob"]);
  });
});
