import { readFileSync } from "node:fs";
import { allRoutes, checkCompatibility, openApiDocument, openApiPath } from "@keel/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SNAPSHOT_PATH, snapshotText } from "../../packages/contract/src/update-snapshot";
import { startTestPlatform } from "../helpers/platform";

describe("the published OpenAPI document", () => {
  let p: Awaited<ReturnType<typeof startTestPlatform>>;
  const doc = openApiDocument();
  beforeAll(async () => {
    p = await startTestPlatform();
  });
  afterAll(async () => {
    await p?.close();
  });

  it("describes every route the app registers, and registers every route it describes", () => {
    const registered = new Set<string>();
    for (const r of p.platform.app.routes) {
      if (r.method === "ALL") continue;
      registered.add(`${r.method} ${openApiPath(r.path)}`);
    }
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.paths))
      for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`);
    expect(
      [...registered].filter((r) => !documented.has(r)),
      "registered but not in the contract",
    ).toEqual([]);
    expect(
      [...documented].filter((r) => !registered.has(r)),
      "in the contract but not registered",
    ).toEqual([]);
    expect(registered.size).toBeGreaterThan(150);
  });

  it("has one unique operationId per operation", () => {
    const ids = Object.values<Record<string, { operationId: string }>>(doc.paths).flatMap((ops) =>
      Object.values(ops).map((o) => o.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(allRoutes.map((r) => r.id)).size).toBe(allRoutes.length);
  });

  it("breaks no published route unless its major version was bumped", () => {
    const published = JSON.parse(readFileSync(SNAPSHOT_PATH, "utf8"));
    const { ok, breaking } = checkCompatibility(published, doc);
    expect(ok, `breaking changes without a new major version:\n${breaking.join("\n")}`).toBe(true);
  });

  it("equals the checked-in snapshot", () => {
    const snapshot = readFileSync(SNAPSHOT_PATH, "utf8");
    expect(snapshot === snapshotText(doc), "the contract changed: run `npm run contract:update`").toBe(true);
  });

  it("is served at /api/v1/openapi.json, with a self-contained reference page at /api/v1/docs", async () => {
    const res = await p.call("GET", "/api/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    expect(res.json).toEqual(JSON.parse(JSON.stringify(doc)));
    const page = await p.call("GET", "/api/v1/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).toContain("/api/v1/openapi.json");
    expect(page.text).not.toMatch(/(src|href)=["']?https?:/);
  });
});
