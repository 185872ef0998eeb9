import { withContext } from "@keel/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { mlflowClient, type TestPlatform } from "../registry/registry-fixtures";
import { as, keelApi, promote, registeredVersion } from "./attack-fixtures";

/**
 * Finding 1: any principal set a model's policy to `protected_stages: []`, moved a version to
 * Production, set `champion`, and put the policy back; renamed a trusted model away and an
 * unapproved one onto its name; deleted a model that had a Production version.
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

describe("finding 1: weakening a policy, renaming and deleting trusted models", () => {
  it("turns a weakening policy edit into a pending change that a second admin must approve", async () => {
    await registeredVersion(p, "trusted");
    const weaken = await keel(
      "PUT",
      "/models/trusted/policy",
      { protected_stages: [], protected_aliases: [] },
      "mallory",
    );
    expect(weaken.status).toBe(202);
    expect(weaken.json.policy_change).toMatchObject({ status: "PENDING", requester: "mallory" });
    expect(weaken.json.policy_change.weakenings).toEqual([
      "stage 'Production' is no longer protected",
      "alias 'champion' is no longer protected",
    ]);
    // Nothing was applied: the attack's next steps are still refused.
    expect(
      (await keel("GET", "/models/trusted/policy", undefined, "x")).json.policy.protected_stages,
    ).toEqual(["Production"]);
    const move = { name: "trusted", version: "1", stage: "Production" };
    expect((await api.call("POST", "/model-versions/transition-stage", move, "mallory")).status).toBe(403);
    const champion = { name: "trusted", alias: "champion", version: "1" };
    expect((await api.call("POST", "/registered-models/alias", champion, "mallory")).status).toBe(403);

    // The requester cannot approve their own change; a different admin can.
    const id = weaken.json.policy_change.id;
    const self = await keel("POST", `/policy-changes/${id}/approve`, {}, "mallory");
    expect([self.status, self.json.error_code]).toEqual([403, "PERMISSION_DENIED"]);
    const second = await keel("POST", `/policy-changes/${id}/approve`, {}, "admin-two");
    expect(second.status).toBe(200);
    expect(second.json.policy_change).toMatchObject({ status: "APPROVED", reviewer: "admin-two" });
    expect(
      (await keel("GET", "/models/trusted/policy", undefined, "x")).json.policy.protected_stages,
    ).toEqual([]);
    const again = await keel("POST", `/policy-changes/${id}/approve`, {}, "admin-three");
    expect(again.status).toBe(400);

    const events = await p.platform.deps.audit.list({ resource: "model:trusted" });
    expect(events.events.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        "registry.policy.change_request",
        "registry.policy.change_approve",
        "registry.policy.set",
      ]),
    );
  });

  it("applies a strengthening at once, and treats a loosened check as a weakening", async () => {
    await registeredVersion(p, "strict");
    const stronger = await keel("PUT", "/models/strict/policy", { checks: ["auc >= 0.9"] }, "alice");
    expect(stronger.status).toBe(200);
    expect((await keel("PUT", "/models/strict/policy", { checks: ["auc > 0.95"] }, "alice")).status).toBe(
      200,
    );
    const looser = await keel("PUT", "/models/strict/policy", { checks: ["auc >= 0.5"] }, "alice");
    expect(looser.status).toBe(202);
    expect(looser.json.policy_change.weakenings).toEqual(["check 'auc > 0.95' is removed or loosened"]);
    const rejected = await keel("POST", `/policy-changes/${looser.json.policy_change.id}/reject`, {}, "bob");
    expect(rejected.json.policy_change.status).toBe("REJECTED");
    expect((await keel("GET", "/models/strict/policy", undefined, "x")).json.policy.checks).toEqual([
      { type: "metric", key: "auc", op: ">", value: 0.95 },
    ]);
  });

  it("needs the admin role to change a policy and to approve a policy change (in the service)", async () => {
    await registeredVersion(p, "roles");
    const registry = p.platform.services.registry;
    await expect(
      withContext(as("dana", "data-scientist"), () =>
        registry.setPolicy("roles", { checks: ["auc >= 0.9"] }),
      ),
    ).rejects.toMatchObject({ code: "PERMISSION_DENIED", message: expect.stringContaining("admin") });
    const out = await withContext(as("ann", "admin"), () =>
      registry.setPolicy("roles", { protected_aliases: [] }),
    );
    expect("change" in out).toBe(true);
    const id = "change" in out ? out.change.id : "";
    await expect(
      withContext(as("apu", "approver"), () => registry.approvePolicyChange(id)),
    ).rejects.toMatchObject({ code: "PERMISSION_DENIED", message: expect.stringContaining("admin") });
    await expect(
      withContext(as("ann", "admin"), () => registry.approvePolicyChange(id)),
    ).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
    });
    const ok = await withContext(as("ben", "admin"), () => registry.approvePolicyChange(id));
    expect(ok.status).toBe("APPROVED");
  });

  it("refuses renaming or deleting a model, or deleting a version, that holds a protected stage or alias", async () => {
    const { version } = await registeredVersion(p, "bank-model");
    await promote(p, "bank-model", version, { stage: "Production" });
    await promote(p, "bank-model", version, { alias: "champion" });
    await registeredVersion(p, "shady");

    const rename = await api.call(
      "POST",
      "/registered-models/rename",
      { name: "bank-model", new_name: "old" },
      "mallory",
    );
    expect([rename.status, rename.json.error_code]).toEqual([403, "PERMISSION_DENIED"]);
    expect(rename.json.message).toContain("stage 'Production'");
    const del = await api.call("DELETE", "/registered-models/delete", { name: "bank-model" }, "mallory");
    expect(del.status).toBe(403);
    const delVersion = await api.call(
      "DELETE",
      "/model-versions/delete",
      { name: "bank-model", version },
      "mallory",
    );
    expect(delVersion.status).toBe(403);
    const delAlias = await api.call(
      "DELETE",
      "/registered-models/alias",
      { name: "bank-model", alias: "champion" },
      "mallory",
    );
    expect(delAlias.status).toBe(403);
    const out = await api.call(
      "POST",
      "/model-versions/transition-stage",
      { name: "bank-model", version, stage: "None" },
      "mallory",
    );
    expect(out.status).toBe(403);
    // The unapproved model cannot take the trusted name, which is still taken.
    const take = await api.call(
      "POST",
      "/registered-models/rename",
      { name: "shady", new_name: "bank-model" },
      "mallory",
    );
    expect(take.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
    const kept = await api.ok("GET", "/model-versions/get?name=bank-model&version=1");
    expect(kept.model_version).toMatchObject({ current_stage: "Production", aliases: ["champion"] });
    // In-process callers (the CLI, other modules) meet the same rule.
    await expect(p.platform.services.registry.deleteRegisteredModel("bank-model")).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
    });

    // Retiring a Production version is a four-eyes move too, and then the model can go.
    await promote(p, "shady", "1", { stage: "Production" });
    await promote(p, "shady", "1", { stage: "Archived" });
    expect((await api.call("DELETE", "/registered-models/delete", { name: "shady" })).status).toBe(200);
  });

  it("refuses an alias named like a stage, in any case", async () => {
    await registeredVersion(p, "aliased");
    for (const alias of ["Production", "staging", "ARCHIVED", "None"]) {
      const r = await api.call("POST", "/registered-models/alias", { name: "aliased", alias, version: "1" });
      expect([alias, r.status, r.json.error_code]).toEqual([alias, 400, "INVALID_PARAMETER_VALUE"]);
      const req = await keel("POST", "/models/aliased/versions/1/promotions", { alias }, "alice");
      expect(req.status).toBe(400);
    }
    const policy = await keel(
      "PUT",
      "/models/aliased/policy",
      { protected_aliases: ["champion", "production"] },
      "a",
    );
    expect(policy.status).toBe(400);
  });
});

describe("finding 1 with an auto-approved stage configured", () => {
  it("does not let auto-approval move a version out of Production", async () => {
    const auto = await startTestPlatform({ config: { registry: { autoApproveStages: ["staging"] } } });
    try {
      const { version } = await registeredVersion(auto, "retire-me");
      await promote(auto, "retire-me", version, { stage: "Production" });
      const out = await mlflowClient(auto).call(
        "POST",
        "/model-versions/transition-stage",
        { name: "retire-me", version, stage: "Staging" },
        "mallory",
      );
      expect([out.status, out.json.error_code]).toEqual([403, "PERMISSION_DENIED"]);
      expect(
        (await mlflowClient(auto).call("DELETE", "/registered-models/delete", { name: "retire-me" })).status,
      ).toBe(403);
    } finally {
      await auto.close();
    }
  });
});
