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
});
