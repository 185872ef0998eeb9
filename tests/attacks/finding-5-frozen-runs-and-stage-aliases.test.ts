import { registryModelResolver } from "@keel/serving";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { mlflowClient, type TestPlatform } from "../registry/registry-fixtures";
import { keelApi, promote, registeredVersion } from "./attack-fixtures";

/**
 * Finding 5: the policy's `auc >= 0.9` check was passed by logging `auc=0.95` to the finished
 * source run after the request was made; metric, param and tag writes were not audited; an
 * alias named `Production` shadowed the Production stage when a deployment resolved it.
 */
let p: TestPlatform;
let api: ReturnType<typeof mlflowClient>;
let keel: ReturnType<typeof keelApi>;

beforeAll(async () => {
  p = await startTestPlatform();
  api = mlflowClient(p);
  keel = keelApi(p);
});
afterAll(async () => {
  await p?.close();
});

const now = () => Date.now();

describe("finding 5: frozen source runs, audited run writes, stage-named aliases", () => {
  it("freezes the source run while a promotion is pending or granted", async () => {
    const v = await registeredVersion(p, "weak", { auc: 0.85 });
    await keel("PUT", "/models/weak/policy", { checks: ["auc >= 0.9"] }, "risk-officer");
    await api.ok("POST", "/runs/update", { run_id: v.runId, status: "FINISHED", end_time: now() });
    const req = await keel("POST", "/models/weak/versions/1/promotions", { stage: "Production" }, "alice");
    expect(req.json.promotion.checks_at_request[0]).toMatchObject({ passed: false, observed: 0.85 });

    const writes: Array<[string, string, unknown]> = [
      ["POST", "/runs/log-metric", { run_id: v.runId, key: "auc", value: 0.95, timestamp: now(), step: 1 }],
      [
        "POST",
        "/runs/log-batch",
        { run_id: v.runId, metrics: [{ key: "auc", value: 0.95, timestamp: now(), step: 2 }] },
      ],
      ["POST", "/runs/log-parameter", { run_id: v.runId, key: "threshold", value: "0.1" }],
      ["POST", "/runs/set-tag", { run_id: v.runId, key: "validated", value: "true" }],
      ["POST", "/runs/delete-tag", { run_id: v.runId, key: "keel.feature_views" }],
      ["POST", "/runs/update", { run_id: v.runId, status: "RUNNING" }],
      ["POST", "/runs/delete", { run_id: v.runId }],
    ];
    for (const [method, path, body] of writes) {
      const r = await api.call(method, path, body, "mallory");
      expect([path, r.status, r.json?.error_code]).toEqual([path, 403, "PERMISSION_DENIED"]);
      expect(r.json.message).toContain("frozen");
    }
    const run = await api.ok("GET", `/runs/get?run_id=${v.runId}`);
    expect(run.run.data.metrics).toEqual([expect.objectContaining({ key: "auc", value: 0.85 })]);
    expect(run.run.info.status).toBe("FINISHED");
    const approve = await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "bob");
    expect(approve.status).toBe(400);
    expect(approve.json.message).toContain("auc >= 0.9");
    const refusals = await p.platform.deps.audit.list({
      resource: `run:${v.runId}`,
      action: "tracking.run.write_refused",
    });
    expect(refusals.events).toHaveLength(writes.length);

    // A rejected request lifts its freeze; an approved one keeps it.
    await keel("POST", `/promotions/${req.json.promotion.id}/reject`, {}, "bob");
    await api.ok("POST", "/runs/set-tag", { run_id: v.runId, key: "note", value: "retrained next" });
    const good = await registeredVersion(p, "strong", { auc: 0.97 });
    await promote(p, "strong", good.version, { stage: "Production" });
    const late = await api.call("POST", "/runs/log-metric", {
      run_id: good.runId,
      key: "auc",
      value: 0.5,
      timestamp: now(),
    });
    expect(late.status).toBe(403);
    expect(late.json.message).toContain("approved promotion into stage 'Production'");
  });

  it("keeps the check values the reviewer saw in the approval's audit event", async () => {
    const v = await registeredVersion(p, "reviewed", { auc: 0.93 });
    await keel("PUT", "/models/reviewed/policy", { checks: ["auc >= 0.9"] }, "risk-officer");
    await promote(p, "reviewed", v.version, { stage: "Production" });
    const { events } = await p.platform.deps.audit.list({
      resource: "model:reviewed/version:1",
      action: "registry.promotion.approve",
    });
    expect(events).toHaveLength(1);
    expect(events[0]?.principal).toBe("bob");
    expect(events[0]?.state).toMatchObject({
      checksAtApproval: [{ check: "auc >= 0.9", passed: true, observed: 0.93 }],
      artifactDigests: { "model.onnx": expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
  });

  it("audits metric, param and tag writes: one event per request, not per value", async () => {
    const exp = await api.ok("POST", "/experiments/create", { name: "audited-writes" });
    const { run } = await api.ok("POST", "/runs/create", {
      experiment_id: exp.experiment_id,
      start_time: now(),
    });
    const runId = run.info.run_id;
    await api.ok("POST", "/runs/log-batch", {
      run_id: runId,
      metrics: Array.from({ length: 50 }, (_, i) => ({
        key: `m${i % 5}`,
        value: i,
        timestamp: now(),
        step: i,
      })),
      params: [{ key: "lr", value: "0.1" }],
      tags: [{ key: "team", value: "risk" }],
    });
    await api.ok("POST", "/runs/log-metric", { run_id: runId, key: "auc", value: 0.91, timestamp: now() });
    await api.ok("POST", "/runs/log-parameter", { run_id: runId, key: "depth", value: "6" });
    await api.ok("POST", "/runs/set-tag", { run_id: runId, key: "x", value: "y" });
    await api.ok("POST", "/runs/delete-tag", { run_id: runId, key: "x" });
    const { events } = await p.platform.deps.audit.list({ resource: `run:${runId}` });
    const writes = events.filter(
      (e) => e.action === "tracking.run.log" || e.action === "tracking.run.delete_tag",
    );
    expect(writes.map((e) => e.action)).toEqual([
      "tracking.run.log",
      "tracking.run.log",
      "tracking.run.log",
      "tracking.run.log",
      "tracking.run.delete_tag",
    ]);
    expect(writes[0]?.state).toMatchObject({
      metrics: { m0: 45, m4: 49 },
      params: { lr: "0.1" },
      tags: { team: "risk" },
    });
    expect(writes[1]?.state).toEqual({ metrics: { auc: 0.91 } });
    expect(writes.every((e) => e.principal === "alice")).toBe(true);
  });

  it("resolves `Production` to the stage even when an older alias carries that name", async () => {
    const v1 = await registeredVersion(p, "shadowed");
    await promote(p, "shadowed", v1.version, { stage: "Production" });
    const v2 = await registeredVersion(p, "shadowed");
    // Such an alias can no longer be created; one written before this rule is still data.
    const registry = p.platform.services.registry;
    const model = await registry.getModel("shadowed");
    await registry.repo.updateModel(model, { set: [[["aliases", "Production"], Number(v2.version)]] });
    expect((await registry.resolve("shadowed", "Production")).version).toBe(1);
    expect((await registry.resolve("shadowed", "production")).version).toBe(1);
    const resolved = await registryModelResolver(registry).resolve("shadowed", "Production");
    expect(resolved.version).toBe("1");
    const refused = await api.call("POST", "/registered-models/alias", {
      name: "shadowed",
      alias: "Production",
      version: "2",
    });
    expect(refused.status).toBe(400);
  });
});
