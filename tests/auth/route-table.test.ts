import { permissionFor, ROLE_PERMISSIONS, routesMissingFromTable } from "@keel/auth";
import { ROLES } from "@keel/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import type { TestPlatform } from "./fixtures";

let p: TestPlatform;
beforeAll(async () => {
  p = await startTestPlatform();
});
afterAll(async () => {
  await p?.close();
});

describe("the permission table", () => {
  it("lists every route the app registers (method + path as Hono holds it)", () => {
    const routes = p.platform.app.routes.filter((r) => r.method !== "ALL");
    expect(routes.length).toBeGreaterThan(100);
    const missing = routesMissingFromTable(routes);
    expect(
      missing,
      `routes missing from packages/auth/src/route-permissions.ts:\n${missing.join("\n")}`,
    ).toEqual([]);
  });

  it("names a permission for the MLflow UI's /ajax-api copies through their /api entry", () => {
    expect(permissionFor("POST", "/ajax-api/2.0/mlflow/runs/log-batch")).toBe("write");
    expect(permissionFor("GET", "/ajax-api/2.0/mlflow/runs/get")).toBe("read");
    expect(permissionFor("POST", "/api/v1/promotions/:id/approve")).toBe("approve");
    expect(permissionFor("GET", "/api/v1/audit")).toBe("audit-read");
    expect(permissionFor("GET", "/no/such/route")).toBeUndefined();
  });

  it("gives every role read, the auditor audit-read, and only admin everything", () => {
    for (const r of ROLES) expect(ROLE_PERMISSIONS[r]).toContain("read");
    expect(ROLE_PERMISSIONS.auditor).toEqual(["read", "audit-read"]);
    expect(ROLE_PERMISSIONS.viewer).toEqual(["read"]);
    expect(ROLE_PERMISSIONS["data-scientist"]).not.toContain("approve");
    expect(ROLE_PERMISSIONS.approver).not.toContain("write");
  });
});
