import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveConsole } from "@keel/console";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";

/** The console's static serving, on a Hono app with one API route behind it. */
describe("serveConsole", () => {
  const root = mkdtempSync(join(tmpdir(), "keel-console-dist-"));
  mkdirSync(join(root, "assets"));
  writeFileSync(join(root, "index.html"), "<!doctype html><div id=app></div>");
  writeFileSync(join(root, "assets", "index-abc.js"), "console.log(1)");
  writeFileSync(join(tmpdir(), "keel-console-secret.txt"), "secret");
  const app = new Hono();
  app.use("*", serveConsole(root));
  app.get("/api/v1/thing", (c) => c.json({ ok: true }));
  app.post("/models", (c) => c.json({ posted: true }));
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(join(tmpdir(), "keel-console-secret.txt"), { force: true });
  });

  it("answers console paths with index.html and assets by name, cached for a year", async () => {
    for (const path of ["/", "/models/fraud/versions/2", "/audit?event=3"]) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(await res.text()).toContain("id=app");
    }
    const js = await app.request("/assets/index-abc.js");
    expect(js.headers.get("content-type")).toContain("text/javascript");
    expect(js.headers.get("cache-control")).toContain("immutable");
  });

  it("never shadows the API, health or metrics, and never answers a missing asset with the page", async () => {
    expect(await (await app.request("/api/v1/thing")).json()).toEqual({ ok: true });
    for (const path of [
      "/api/v1/nope",
      "/ajax-api/2.0/x",
      "/v2/models",
      "/llm/x",
      "/graphql",
      "/health",
      "/metrics",
    ])
      expect((await app.request(path)).status, path).toBe(404);
    expect((await app.request("/assets/gone.js")).status).toBe(404);
    expect(await (await app.request("/models", { method: "POST" })).json()).toEqual({ posted: true });
  });

  it("serves nothing outside its folder", async () => {
    for (const path of [
      "/../keel-console-secret.txt",
      "/%2e%2e/keel-console-secret.txt",
      "/assets/..%2f..%2fkeel-console-secret.txt",
    ]) {
      const res = await app.request(path);
      expect(await res.text(), path).not.toContain("secret");
    }
  });
});
