import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { createRun, mlflowClient, type TestPlatform } from "./registry-fixtures";

let p: TestPlatform;
let api: ReturnType<typeof mlflowClient>;

/** Calls Keel's own API as `principal`. */
const keel = (method: string, path: string, body: unknown, principal: string) =>
  p.call(method, `/api/v1${path}`, body, { "x-keel-principal": principal });

beforeAll(async () => {
  p = await startTestPlatform({ config: { registry: { autoApproveStages: ["staging"] } } });
  api = mlflowClient(p);
});
afterAll(async () => {
  await p?.close();
});

async function modelWithVersion(name: string, metrics: Record<string, number> = { auc: 0.95 }) {
  const run = await createRun(p, { metrics, params: { max_depth: "6" }, pipelineRunId: "pipe-42" });
  await api.ok("POST", "/registered-models/create", { name });
  await api.ok("POST", "/model-versions/create", {
    name,
    source: `runs:/${run.runId}/model`,
    run_id: run.runId,
  });
  return run;
}

describe("four-eyes promotion into protected stages and aliases", () => {
  it("refuses Production and champion through the MLflow API until a second person approves", async () => {
    await modelWithVersion("fraud");
    const direct = await api.call("POST", "/model-versions/transition-stage", {
      name: "fraud",
      version: "1",
      stage: "Production",
    });
    expect(direct.status).toBe(403);
    expect(direct.json.error_code).toBe("PERMISSION_DENIED");
    expect(direct.json.message).toContain("keel model promote fraud 1 --stage Production");
    expect(direct.json.message).toContain("keel model approve");
    const alias = await api.call("POST", "/registered-models/alias", {
      name: "fraud",
      alias: "champion",
      version: "1",
    });
    expect(alias.status).toBe(403);
    expect((await api.ok("GET", "/model-versions/get?name=fraud&version=1")).model_version).toMatchObject({
      current_stage: "None",
      aliases: [],
    });

    const requested = await keel(
      "POST",
      "/models/fraud/versions/1/promotions",
      { stage: "Production", comment: "ready" },
      "alice",
    );
    expect(requested.status).toBe(201);
    const id = requested.json.promotion.id;
    expect(requested.json.promotion).toMatchObject({
      status: "PENDING",
      requester: "alice",
      request_comment: "ready",
    });

    const again = await keel("POST", "/models/fraud/versions/1/promotions", { stage: "Production" }, "carol");
    expect(again.status).toBe(409);
    expect(again.json.message).toContain(id);

    const self = await keel("POST", `/promotions/${id}/approve`, { comment: "lgtm" }, "alice");
    expect(self.status).toBe(403);
    expect(self.json.message).toContain("four-eyes");
    expect((await keel("GET", `/promotions/${id}`, undefined, "alice")).json.promotion.status).toBe(
      "PENDING",
    );

    const approved = await keel("POST", `/promotions/${id}/approve`, { comment: "checked" }, "bob");
    expect(approved.status).toBe(200);
    expect(approved.json.promotion).toMatchObject({
      status: "APPROVED",
      reviewer: "bob",
      review_comment: "checked",
    });
    expect(
      (await api.ok("GET", "/model-versions/get?name=fraud&version=1")).model_version.current_stage,
    ).toBe("Production");
    // The MLflow call is now allowed for this version and stage.
    await api.ok("POST", "/model-versions/transition-stage", {
      name: "fraud",
      version: "1",
      stage: "Production",
    });

    const twice = await keel("POST", `/promotions/${id}/approve`, {}, "carol");
    expect(twice.status).toBe(400);
    expect(twice.json.error_code).toBe("INVALID_STATE");
    expect(twice.json.message).toContain("already APPROVED");

    const trail = await keel(
      "GET",
      `/audit?resource=${encodeURIComponent("model:fraud/version:1")}`,
      undefined,
      "x",
    );
    const actions = trail.json.events.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        "registry.promotion.request",
        "registry.promotion.approve",
        "registry.version.transition",
      ]),
    );
    const approval = trail.json.events.find(
      (e: { action: string }) => e.action === "registry.promotion.approve",
    );
    expect(approval.principal).toBe("bob");
  });

  it("promotes to an alias, and a rejection leaves the version where it was", async () => {
    await modelWithVersion("churn");
    const req = await keel("POST", "/models/churn/versions/1/promotions", { alias: "champion" }, "alice");
    const rejected = await keel(
      "POST",
      `/promotions/${req.json.promotion.id}/reject`,
      { comment: "not yet" },
      "bob",
    );
    expect(rejected.json.promotion).toMatchObject({ status: "REJECTED", review_comment: "not yet" });
    expect((await api.ok("GET", "/registered-models/get?name=churn")).registered_model.aliases).toEqual([]);
    const late = await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "carol");
    expect(late.status).toBe(400);

    const req2 = await keel("POST", "/models/churn/versions/1/promotions", { alias: "champion" }, "alice");
    await keel("POST", `/promotions/${req2.json.promotion.id}/approve`, {}, "bob");
    const champion = await api.ok("GET", "/registered-models/alias?name=churn&alias=champion");
    expect(champion.model_version.version).toBe("1");
    const list = await keel("GET", "/models/churn/promotions?status=REJECTED", undefined, "x");
    expect(list.json.promotions).toHaveLength(1);
  });

  it("evaluates policy checks at request and at approval and records them", async () => {
    await modelWithVersion("weak", { auc: 0.81 });
    const policy = await keel(
      "PUT",
      "/models/weak/policy",
      {
        protected_stages: ["Production"],
        protected_aliases: ["champion"],
        checks: ["auc >= 0.9", "model_card"],
      },
      "risk-officer",
    );
    expect(policy.status).toBe(200);
    expect(policy.json.policy.checks).toEqual([
      { type: "metric", key: "auc", op: ">=", value: 0.9 },
      { type: "model_card" },
    ]);
    const badPolicy = await keel("PUT", "/models/weak/policy", { checks: ["auc is high"] }, "risk-officer");
    expect(badPolicy.status).toBe(400);

    const req = await keel("POST", "/models/weak/versions/1/promotions", { stage: "Production" }, "alice");
    expect(req.json.promotion.checks_at_request).toEqual([
      { check: "auc >= 0.9", passed: false, observed: 0.81, message: "auc = 0.81" },
      { check: "model card with intended use", passed: false, message: "the model card has no intended use" },
    ]);
    const refused = await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "bob");
    expect(refused.status).toBe(400);
    expect(refused.json.message).toContain("auc >= 0.9");
    expect(
      (await keel("GET", `/promotions/${req.json.promotion.id}`, undefined, "x")).json.promotion.status,
    ).toBe("PENDING");

    // The source run is frozen while the request is pending: a better metric cannot be slipped
    // in under it. Withdrawn, the run can be fixed and a new request made.
    const runId = (await api.ok("GET", "/model-versions/get?name=weak&version=1")).model_version.run_id;
    const metric = { run_id: runId, key: "auc", value: 0.92, timestamp: Date.now(), step: 1 };
    expect((await api.call("POST", "/runs/log-metric", metric)).status).toBe(403);
    expect((await keel("POST", `/promotions/${req.json.promotion.id}/reject`, {}, "alice")).status).toBe(200);
    await api.ok("POST", "/runs/log-metric", metric);
    await keel("PUT", "/models/weak/versions/1/card", { intended_use: "Scoring card transactions" }, "alice");
    const again = await keel("POST", "/models/weak/versions/1/promotions", { stage: "Production" }, "alice");
    const ok = await keel("POST", `/promotions/${again.json.promotion.id}/approve`, {}, "bob");
    expect(ok.status).toBe(200);
    expect(ok.json.promotion.checks_at_approval.every((c: { passed: boolean }) => c.passed)).toBe(true);
  });

  it("auto-approves only stages the configuration lists", async () => {
    await modelWithVersion("auto");
    await keel("PUT", "/models/auto/policy", { protected_stages: ["Staging", "Production"] }, "risk-officer");
    const staging = await api.ok("POST", "/model-versions/transition-stage", {
      name: "auto",
      version: "1",
      stage: "Staging",
    });
    expect(staging.model_version.current_stage).toBe("Staging");
    const promotions = await keel("GET", "/models/auto/promotions", undefined, "x");
    expect(promotions.json.promotions).toHaveLength(1);
    expect(promotions.json.promotions[0]).toMatchObject({
      status: "APPROVED",
      reviewer: "keel:auto-approve",
      auto_approved: true,
    });
    const prod = await api.call("POST", "/model-versions/transition-stage", {
      name: "auto",
      version: "1",
      stage: "Production",
    });
    expect(prod.status).toBe(403);
  });

  it("lets exactly one of two concurrent approvals win", async () => {
    await modelWithVersion("race");
    const req = await keel("POST", "/models/race/versions/1/promotions", { stage: "Production" }, "alice");
    const id = req.json.promotion.id;
    const [a, b] = await Promise.all([
      keel("POST", `/promotions/${id}/approve`, {}, "bob"),
      keel("POST", `/promotions/${id}/reject`, {}, "carol"),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 400]);
    const final = (await keel("GET", `/promotions/${id}`, undefined, "x")).json.promotion;
    const stage = (await api.ok("GET", "/model-versions/get?name=race&version=1")).model_version
      .current_stage;
    expect(stage).toBe(final.status === "APPROVED" ? "Production" : "None");
  });

  it("resolves references and answers isAllowed for in-process callers (serving)", async () => {
    const registry = p.platform.services.registry;
    await modelWithVersion("served");
    await api.ok("POST", "/model-versions/create", { name: "served", source: "s3://b/2" });
    await api.ok("POST", "/registered-models/alias", { name: "served", alias: "canary", version: "2" });
    expect((await registry.resolve("served", "1")).version).toBe(1);
    expect((await registry.resolve("served", "@canary")).version).toBe(2);
    expect((await registry.resolve("served", "latest")).version).toBe(2);
    await expect(registry.resolve("served", "Production")).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
    expect(await registry.isAllowed("served", 2, { kind: "alias", alias: "canary" })).toBe(true);
    expect(await registry.isAllowed("served", 2, { kind: "stage", stage: "Production" })).toBe(false);
    const req = await keel("POST", "/models/served/versions/2/promotions", { stage: "Production" }, "alice");
    await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "bob");
    expect(await registry.isAllowed("served", 2, { kind: "stage", stage: "Production" })).toBe(true);
    expect((await registry.resolve("served", "production")).version).toBe(2);
  });

  it("rejects bad promotion requests", async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ["/models/nobody/versions/1/promotions", { stage: "Production" }, 404, "RESOURCE_DOES_NOT_EXIST"],
      ["/models/fraud/versions/7/promotions", { stage: "Production" }, 404, "RESOURCE_DOES_NOT_EXIST"],
      [
        "/models/fraud/versions/1/promotions",
        { stage: "Production", alias: "champion" },
        400,
        "INVALID_PARAMETER_VALUE",
      ],
      ["/models/fraud/versions/1/promotions", { stage: "Prod" }, 400, "INVALID_PARAMETER_VALUE"],
      ["/models/served/versions/1/promotions", { stage: "Archived" }, 400, "INVALID_PARAMETER_VALUE"],
      ["/promotions/0123456789abcdef0123456789abcdef/approve", {}, 404, "RESOURCE_DOES_NOT_EXIST"],
    ];
    for (const [path, body, status, code] of cases) {
      const r = await keel("POST", path, body, "alice");
      expect([r.status, r.json.error_code], `${path} ${JSON.stringify(body)}`).toEqual([status, code]);
    }
    const unprotected = await keel(
      "POST",
      "/models/served/versions/1/promotions",
      { stage: "Archived" },
      "alice",
    );
    expect(unprotected.json.message).toContain("not protected");
  });
});

describe("lineage and model cards", () => {
  it("returns the whole graph of a version in one call", async () => {
    const run = await modelWithVersion("lineage-model");
    const req = await keel(
      "POST",
      "/models/lineage-model/versions/1/promotions",
      { alias: "champion" },
      "alice",
    );
    await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "bob");
    const r = await keel("GET", "/models/lineage-model/versions/1/lineage", undefined, "x");
    expect(r.status).toBe(200);
    const g = r.json.lineage;
    const ids = g.nodes.map((n: { id: string }) => n.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        "model_version:lineage-model/1",
        `run:${run.runId}`,
        `experiment:${run.experimentId}`,
        "pipeline_run:pipe-42",
        "dataset:transactions-2026-10:d41d8cd9",
        "feature_view:customer_stats:3",
        "feature_view:merchant_risk:7",
        `promotion:${req.json.promotion.id}`,
      ]),
    );
    expect(g.edges).toEqual(
      expect.arrayContaining([
        { from: `run:${run.runId}`, to: "model_version:lineage-model/1", relation: "produced" },
        { from: "dataset:transactions-2026-10:d41d8cd9", to: `run:${run.runId}`, relation: "input_to" },
        { from: "pipeline_run:pipe-42", to: `run:${run.runId}`, relation: "ran" },
      ]),
    );
  });

  it("generates the card in Markdown and HTML, stores it as an artifact and regenerates it on change", async () => {
    await modelWithVersion("carded", { auc: 0.97 });
    const md = await keel("GET", "/models/carded/versions/1/card", undefined, "x");
    expect(md.headers.get("content-type")).toContain("text/markdown");
    expect(md.text).toContain("# Model card: carded version 1");
    expect(md.text).toContain("| auc | 0.97 | 0 |");
    expect(md.text).toContain("| max_depth | 6 |");
    expect(md.text).toContain("transactions-2026-10");
    expect(md.text).toContain("Not documented yet.");

    await keel("PUT", "/models/carded/versions/1/card", { intended_use: "Flag <risky> payments" }, "alice");
    const html = await keel("GET", "/models/carded/versions/1/card?format=html", undefined, "x");
    expect(html.headers.get("content-type")).toContain("text/html");
    expect(html.text).toContain("<p>Flag &lt;risky&gt; payments</p>");

    const model = await p.platform.services.registry.getModel("carded");
    const stored = await p.platform.deps.artifacts.getBytes(
      `evidence/models/${model.id}/versions/1/model-card.md`,
    );
    expect(stored.toString("utf8")).toContain("Flag <risky> payments");

    await api.ok("POST", "/model-versions/set-tag", { name: "carded", version: "1", key: "k", value: "v" });
    await api.ok("POST", "/model-versions/transition-stage", {
      name: "carded",
      version: "1",
      stage: "Archived",
    });
    const after = await p.platform.deps.artifacts.getBytes(
      `evidence/models/${model.id}/versions/1/model-card.md`,
    );
    expect(after.toString("utf8")).toContain("| stage | Archived |");
  });
});
