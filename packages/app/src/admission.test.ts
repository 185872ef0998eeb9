import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { admission } from "./admission";
import type { LagSource } from "./overload";

describe("admission", () => {
  it("runs at most maxInFlight requests and refuses the rest at once with 503 and Retry-After", async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let running = 0;
    let most = 0;
    const app = new Hono();
    app.use("*", admission({ maxInFlight: 2 }));
    app.get("/work", async (c) => {
      most = Math.max(most, ++running);
      await gate;
      running--;
      return c.json({ ok: true });
    });
    app.get("/health", (c) => c.json({ status: "ok" }));
    const admitted = [app.request("/work"), app.request("/work")];
    const refused = await Promise.all([app.request("/work"), app.request("/work"), app.request("/work")]);
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(r.headers.get("retry-after")).toBe("1");
      expect(await r.json()).toMatchObject({ error_code: "TEMPORARILY_UNAVAILABLE" });
    }
    expect((await app.request("/health")).status).toBe(200);
    release();
    expect((await Promise.all(admitted)).map((r) => r.status)).toEqual([200, 200]);
    expect(most).toBe(2);
    // Finished requests free their places.
    expect((await app.request("/work")).status).toBe(200);
  });

  it("refuses every request but health checks while the event loop is overloaded, and admits again once it drains", async () => {
    let t = 0;
    let median: number | undefined = 5;
    const lag: LagSource = { medianMs: () => median, reset: () => {} };
    let handled = 0;
    const app = new Hono();
    app.use("*", admission({ maxInFlight: 0, lag: { maxLagMs: 100, windowMs: 250, now: () => t, lag } }));
    app.post("/work", async (c) => {
      handled++;
      return c.json(await c.req.json());
    });
    app.get("/health", (c) => c.json({ status: "ok" }));
    const post = () =>
      app.request("/work", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    t = 300;
    expect((await post()).status).toBe(200);
    median = 400;
    t = 600;
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({ error_code: "TEMPORARILY_UNAVAILABLE" });
    expect((await app.request("/health")).status).toBe(200);
    expect(handled).toBe(1);
  });

  it("while full, still admits health, readiness, metrics and the platform's own calls, and refuses v2 in its shape", async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const app = new Hono();
    app.use("*", admission({ maxInFlight: 1, internalToken: "tok" }));
    app.all("*", async (c) => {
      if (c.req.path === "/work") await gate;
      return c.json({ ok: true });
    });
    const held = app.request("/work");
    for (const path of [
      "/health",
      "/api/v1/health",
      "/metrics",
      "/v2/health/ready",
      "/v2/models/fraud/ready",
    ])
      expect((await app.request(path)).status, path).toBe(200);
    expect(
      (await app.request("/api/2.0/mlflow/runs/search", { headers: { "x-keel-internal-call": "tok" } }))
        .status,
    ).toBe(200);
    // A wrong token is an ordinary call.
    const wrong = await app.request("/api/2.0/mlflow/runs/search", {
      headers: { "x-keel-internal-call": "guess" },
    });
    expect(wrong.status).toBe(503);
    const v2 = await app.request("/v2/models/fraud/infer", { method: "POST" });
    expect(v2.status).toBe(503);
    expect(v2.headers.get("retry-after")).toBe("1");
    expect(await v2.json()).toMatchObject({ error: expect.stringContaining("retry later") });
    release();
    expect((await held).status).toBe(200);
  });

  it("is off at maxInFlight 0", async () => {
    const app = new Hono();
    app.use("*", admission({ maxInFlight: 0 }));
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    app.get("/work", async (c) => {
      await gate;
      return c.json({ ok: true });
    });
    const all = Array.from({ length: 50 }, () => app.request("/work"));
    release();
    expect(new Set((await Promise.all(all)).map((r) => r.status))).toEqual(new Set([200]));
  });
});
