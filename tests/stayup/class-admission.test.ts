import { internalCallHeaders } from "@keel/core";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admission } from "../../packages/app/src/admission";
import {
  ClassAdmission,
  type ClassLimit,
  defaultClassLimits,
  parseClassLimits,
  type RouteClass,
  routeClass,
} from "../../packages/app/src/admission-classes";
import { startTestPlatform } from "../helpers/platform";

const limits = (over: Partial<Record<RouteClass, ClassLimit>>): Record<RouteClass, ClassLimit> => ({
  inference: { limit: 100, queue: 100 },
  read: { limit: 100, queue: 100 },
  write: { limit: 100, queue: 100 },
  llm: { limit: 100, queue: 100 },
  ...over,
});

describe("route classes", () => {
  it("classifies inference, LLM, reads and writes", () => {
    expect(routeClass("POST", "/v2/models/fraud/infer")).toBe("inference");
    expect(routeClass("POST", "/v2/models/fraud/versions/3/infer")).toBe("inference");
    expect(routeClass("POST", "/v2/models/fraud/explain")).toBe("inference");
    expect(routeClass("GET", "/v2/models/fraud")).toBe("read");
    expect(routeClass("POST", "/llm/v1/chat/completions")).toBe("llm");
    expect(routeClass("POST", "/api/2.0/mlflow/runs/search")).toBe("read");
    expect(routeClass("POST", "/api/v1/features/get-online-features")).toBe("read");
    expect(routeClass("GET", "/api/2.0/mlflow/runs/get")).toBe("read");
    expect(routeClass("POST", "/api/2.0/mlflow/runs/log-metric")).toBe("write");
    expect(routeClass("DELETE", "/api/v1/deployments/x")).toBe("write");
  });

  it("parses KEEL_ADMISSION_LIMITS over the defaults and rejects what it cannot read", () => {
    const d = defaultClassLimits(2);
    expect(d.read).toEqual({ limit: 8, queue: 8 });
    const l = parseClassLimits("inference=32, write=4:0", d);
    expect(l.inference).toEqual({ limit: 32, queue: 32 });
    expect(l.write).toEqual({ limit: 4, queue: 0 });
    expect(l.read).toEqual(d.read);
    expect(() => parseClassLimits("search=3", d)).toThrow(/KEEL_ADMISSION_LIMITS/);
  });
});

describe("ClassAdmission (fake clock)", () => {
  it("runs up to the limit, queues up to the queue, refuses beyond, and hands places to waiters in order", async () => {
    const t = 0;
    const gate = new ClassAdmission({
      limits: limits({ write: { limit: 2, queue: 1 } }),
      targetMs: 10,
      now: () => t,
    });
    expect(gate.admit("write")).toBe("run");
    expect(gate.admit("write")).toBe("run");
    const waiting = gate.admit("write");
    expect(waiting).toBeInstanceOf(Promise);
    expect(gate.admit("write")).toBe("refused");
    // Another class is not affected by a full one.
    expect(gate.admit("read")).toBe("run");
    let admitted = false;
    (waiting as Promise<void>).then(() => (admitted = true));
    gate.release("write");
    await Promise.resolve();
    expect(admitted).toBe(true);
    expect(gate.state("write")).toMatchObject({ running: 2, queued: 0, refused: 1 });
    gate.release("write");
    gate.release("write");
    expect(gate.state("write")).toMatchObject({ running: 0, queued: 0 });
  });

  it("refuses arrivals at once while the queue stands above its sojourn target, and admits again once it drains", () => {
    let t = 0;
    const gate = new ClassAdmission({
      limits: limits({ inference: { limit: 1, queue: 50 } }),
      targetMs: 10,
      intervalMs: 100,
      now: () => t,
    });
    expect(gate.admit("inference")).toBe("run");
    // A standing queue: every waiter gets its place 20 ms (twice the target) after it came.
    for (let i = 0; i < 4; i++) expect(gate.admit("inference")).toBeInstanceOf(Promise);
    t += 20;
    gate.release("inference"); // sojourn 20 > 10: above since now
    expect(gate.admit("inference")).toBeInstanceOf(Promise); // not for a whole interval yet
    t += 100;
    gate.release("inference"); // above for the interval: dropping
    expect(gate.admit("inference")).toBe("refused");
    expect(gate.admit("inference")).toBe("refused");
    // The queue drains: the last waiter takes the place and the class admits again.
    gate.release("inference");
    gate.release("inference");
    gate.release("inference");
    expect(gate.state("inference").queued).toBe(0);
    gate.release("inference");
    expect(gate.state("inference").running).toBe(0);
    expect(gate.admit("inference")).toBe("run");
  });

  it("refuses at once when the request at the head of the queue has waited past target + interval", () => {
    let t = 0;
    const gate = new ClassAdmission({
      limits: limits({ read: { limit: 1, queue: 10 } }),
      targetMs: 10,
      intervalMs: 100,
      now: () => t,
    });
    expect(gate.admit("read")).toBe("run");
    expect(gate.admit("read")).toBeInstanceOf(Promise);
    t += 50;
    expect(gate.admit("read")).toBeInstanceOf(Promise);
    t += 61;
    expect(gate.admit("read")).toBe("refused");
  });
});

describe("ClassAdmission watching the event loop (fake delay source)", () => {
  it("refuses every class while the loop's smallest delay over a window is above the target, and admits again after a window below it", () => {
    let t = 0;
    let min: number | undefined = 2;
    const gate = new ClassAdmission({
      limits: limits({}),
      targetMs: 25,
      loop: { medianMs: () => min, minMs: () => min, reset: () => {} },
      loopWindowMs: 250,
      now: () => t,
    });
    expect(gate.admit("read")).toBe("run");
    min = 40; // behind for a whole window: a standing queue in front of every request
    t += 250;
    expect(gate.admit("write")).toBe("refused");
    expect(gate.admit("inference")).toBe("refused");
    t += 100; // the decision holds within the window
    min = 3;
    expect(gate.admit("read")).toBe("refused");
    t += 150;
    expect(gate.admit("read")).toBe("run");
    expect(gate.loopRefused).toBe(3);
  });
});

describe("classes admission middleware", () => {
  it("refuses the next request of a class at its limit with 503 + Retry-After without running the handler; other classes and internal calls still run", async () => {
    const app = new Hono();
    const token = "test-internal-token";
    app.use(
      "*",
      admission({
        maxInFlight: 256,
        mode: "classes",
        internalToken: token,
        classes: { limits: limits({ write: { limit: 1, queue: 0 } }), targetMs: 25, watchLoop: false },
      }),
    );
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    let ran = 0;
    app.post("/api/2.0/mlflow/runs/log-metric", async (c) => {
      ran++;
      if (ran === 1) await held;
      return c.json({});
    });
    app.post("/api/2.0/mlflow/runs/search", (c) => c.json({ runs: [] }));

    const first = app.request("/api/2.0/mlflow/runs/log-metric", { method: "POST" });
    await new Promise((r) => setImmediate(r));
    expect(ran).toBe(1);
    const refused = await app.request("/api/2.0/mlflow/runs/log-metric", { method: "POST" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({ error_code: "TEMPORARILY_UNAVAILABLE" });
    expect(ran).toBe(1); // the handler did not run for the refused request
    // Another class has its own places; the platform's own calls are never refused.
    expect((await app.request("/api/2.0/mlflow/runs/search", { method: "POST" })).status).toBe(200);
    const internal = await app.request("/api/2.0/mlflow/runs/log-metric", {
      method: "POST",
      headers: { "x-keel-internal-call": token },
    });
    expect(internal.status).toBe(200);
    release();
    expect((await first).status).toBe(200);
    // The place is free again.
    expect((await app.request("/api/2.0/mlflow/runs/log-metric", { method: "POST" })).status).toBe(200);
  });
});

/** The real platform over HTTP with `KEEL_ADMISSION=classes` and a tiny write class. */
describe("classes admission on the platform", () => {
  let p: Awaited<ReturnType<typeof startTestPlatform>>;
  let runId: string;
  let expId: string;
  beforeAll(async () => {
    p = await startTestPlatform({
      config: {
        http: {
          maxInFlight: 256,
          admission: "classes",
          admissionLimits: "write=2:2",
          admissionLoopTargetMs: 0,
        },
      },
    });
    const exp = await p.call("POST", "/api/2.0/mlflow/experiments/create", { name: "class-flood" });
    expId = exp.json.experiment_id;
    const run = await p.call("POST", "/api/2.0/mlflow/runs/create", { experiment_id: expId });
    runId = run.json.run.info.run_id;
  });
  afterAll(async () => {
    await p?.close();
  });

  it("refuses excess writes fast, completes every admitted one, and leaves reads and internal work alone", async () => {
    const FLOOD = 120;
    const logMetric = (key: string, i: number, headers: Record<string, string> = {}) =>
      p.call(
        "POST",
        "/api/2.0/mlflow/runs/log-metric",
        { run_id: runId, key, value: i, timestamp: 1_700_000_000_000 + i, step: i },
        headers,
      );
    const [flood, searches, internal] = await Promise.all([
      Promise.all(Array.from({ length: FLOOD }, (_, i) => logMetric("loss", i))),
      Promise.all(
        Array.from({ length: 4 }, () =>
          p.call("POST", "/api/2.0/mlflow/runs/search", { experiment_ids: [expId], max_results: 5 }),
        ),
      ),
      Promise.all(Array.from({ length: 20 }, (_, i) => logMetric("internal", i, internalCallHeaders()))),
    ]);
    const statuses = flood.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    const admitted = flood.filter((r) => r.status === 200);
    const refused = flood.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(admitted.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.headers.get("retry-after")).toBe("1");
    expect(searches.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(internal.map((r) => r.status)).toEqual(Array(20).fill(200));

    const history = await p.call(
      "GET",
      `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=loss`,
    );
    expect(history.json.metrics).toHaveLength(admitted.length);
    expect((await logMetric("loss", FLOOD)).status).toBe(200);
  });
});
