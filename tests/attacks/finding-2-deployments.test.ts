import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { rowsRequest } from "../serving/fixtures";
import {
  approveForProduction,
  as,
  auditEvents,
  registerVersion,
  type TestPlatform,
} from "./serving-fixtures";

/**
 * Finding 2: production traffic only for approved versions. Every deployment change is
 * checked against the state after it; backends are names an admin registered.
 */
let p: TestPlatform;

beforeAll(async () => {
  p = await startTestPlatform();
  await registerVersion(p, "fraud", 1);
  await registerVersion(p, "fraud", 2);
  await approveForProduction(p, "fraud", "1");
});

afterAll(async () => {
  await p?.close();
});

const deployment = async (name: string) => (await p.call("GET", `/api/v1/deployments/${name}`)).json;

describe("finding 2: an unapproved version never gets production traffic", () => {
  it("refuses the flip-to-staging, shift, promote, flip-back sequence", async () => {
    const created = await p.call("POST", "/api/v1/deployments", {
      name: "fraud-a",
      model: "fraud",
      version: "1",
      environment: "production",
    });
    expect(created.status).toBe(201);

    // Weakening the registry policy does not make version 2 approved: serving asks for an APPROVED promotion.
    await p.platform.services.registry.setPolicy("fraud", { protected_stages: [] }).catch(() => undefined);
    const direct = await p.call("POST", "/api/v1/deployments/fraud-a/shift", { version: "2", weight: 100 });
    expect(direct.status).toBe(403);
    expect(direct.json.error_code).toBe("PERMISSION_DENIED");
    expect(direct.json.message).toContain("fraud@2");
    const before = await deployment("fraud-a");

    // A non-deployer may not move a deployment out of production at all.
    const serving = servingService();
    await expect(
      as("mallory", ["data-scientist"], () =>
        serving.deployments.updateSettings("fraud-a", { environment: "staging" }),
      ),
    ).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    expect((await deployment("fraud-a")).environment).toBe("production");

    // A deployer may leave production (nothing unapproved receives traffic)...
    const staging = await p.call("PATCH", "/api/v1/deployments/fraud-a", { environment: "staging" });
    expect(staging.status).toBe(200);
    expect(
      (await p.call("POST", "/api/v1/deployments/fraud-a/shift", { version: "2", weight: 100 })).status,
    ).toBe(200);
    expect((await p.call("POST", "/api/v1/deployments/fraud-a/promote", {})).status).toBe(200);
    // ...but not come back with the unapproved version receiving traffic.
    const back = await p.call("PATCH", "/api/v1/deployments/fraud-a", { environment: "production" });
    expect(back.status).toBe(403);
    expect(back.json.message).toContain("fraud@2");
    const after = await deployment("fraud-a");
    expect(after.environment).toBe("staging");
    expect(before.revision).toBeLessThan(after.revision);
    for (const d of (await p.call("GET", "/api/v1/deployments")).json.deployments)
      if (d.environment === "production")
        for (const r of [d.stable, d.canary, d.shadow].filter(Boolean)) expect(r.version).toBe("1");
  });

  it("refuses a rollback that would restore an unapproved stable version in production", async () => {
    // Built in staging: stable 2, then 1 promoted over it (history remembers 2).
    expect(
      (await p.call("POST", "/api/v1/deployments", { name: "fraud-b", model: "fraud", version: "2" })).status,
    ).toBe(201);
    await p.call("POST", "/api/v1/deployments/fraud-b/shift", { version: "1", weight: 100 });
    await p.call("POST", "/api/v1/deployments/fraud-b/promote", {});
    expect((await p.call("PATCH", "/api/v1/deployments/fraud-b", { environment: "production" })).status).toBe(
      200,
    );
    const rollback = await p.call("POST", "/api/v1/deployments/fraud-b/rollback", {});
    expect(rollback.status).toBe(403);
    expect(rollback.json.message).toContain("fraud@2");
    expect((await deployment("fraud-b")).stable.version).toBe("1");
  });

  it("refuses free-form backend URLs and arbitrary shadows in production; admins register backends by name", async () => {
    const url = await p.call("POST", "/api/v1/deployments", {
      name: "fraud-c",
      model: "fraud",
      version: "1",
      environment: "production",
      backend: { type: "kserve", url: "http://attacker.example:8000" },
    });
    expect(url.status).toBe(403);
    expect(url.json.message).toMatch(/free-form kserve backend/);
    expect((await p.call("GET", "/api/v1/deployments/fraud-c")).status).toBe(404);

    expect(
      (
        await p.call("POST", "/api/v1/deployments", {
          name: "fraud-c",
          model: "fraud",
          version: "1",
          environment: "production",
        })
      ).status,
    ).toBe(201);
    const shadow = await p.call("PUT", "/api/v1/deployments/fraud-c/shadow", {
      version: "1",
      backend: { type: "kserve", url: "http://attacker.example:8000" },
    });
    expect(shadow.status).toBe(403);
    const unapprovedShadow = await p.call("PUT", "/api/v1/deployments/fraud-c/shadow", { version: "2" });
    expect(unapprovedShadow.status).toBe(403);
    expect((await deployment("fraud-c")).shadow).toBeUndefined();

    // Unregistered names are unknown; registering needs an admin and is audited.
    const unknown = await p.call("PUT", "/api/v1/deployments/fraud-c/shadow", {
      version: "1",
      backend: "gpu",
    });
    expect(unknown.status).toBe(404);
    const spec = { type: "kserve", url: "http://127.0.0.1:9" };
    await expect(
      as("dana", ["deployer"], () => servingService().backends.put({ name: "gpu", spec })),
    ).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    const reg = await p.call("POST", "/api/v1/backends", {
      name: "gpu",
      spec,
      description: "Triton on the GPU nodes",
    });
    expect(reg.status).toBe(201);
    expect((await auditEvents(p, "serving.backend.create")).map((e) => e.resource)).toContain("backend:gpu");
    const named = await p.call("PUT", "/api/v1/deployments/fraud-c/shadow", { version: "1", backend: "gpu" });
    expect(named.status).toBe(200);
    expect(named.json.shadow.backend).toEqual({ type: "named", name: "gpu" });
    expect((await p.call("DELETE", "/api/v1/backends/gpu")).status).toBe(400);

    // Non-production deployments keep free-form backends and the built-in in-process one.
    const dev = await p.call("POST", "/api/v1/deployments", {
      name: "fraud-dev",
      model: "fraud",
      version: "2",
      backend: "in-process",
      shadow: { model: "fraud", version: "2", backend: { type: "kserve", url: "http://127.0.0.1:9" } },
    });
    expect(dev.status).toBe(201);
    const r = await p.call("POST", "/v2/models/fraud-dev/infer", rowsRequest([[1, 2, 3, 4]]));
    expect(r.status).toBe(200);
  });
});

function servingService() {
  const m = p.platform.modules.find((x) => x.name === "serving") as unknown as {
    service: import("@keel/serving").ServingService;
  };
  return m.service;
}
