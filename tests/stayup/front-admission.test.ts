import { EventEmitter } from "node:events";
import { Agent, type IncomingMessage, request, type ServerResponse } from "node:http";
import { internalCallHeaders } from "@keel/core";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admission } from "../../packages/app/src/admission";
import type { RouteClass } from "../../packages/app/src/admission-classes";
import { FrontAdmission, frontAdmissionConfig } from "../../packages/app/src/admission-front";
import { ShedController } from "../../packages/app/src/admission-shed";
import { startTestPlatform, type TestPlatform } from "../helpers/platform";

/** A controller on a hand-driven clock, loop utilization, queue state and random draw. */
function controller() {
  const s = {
    t: 0,
    util: 1,
    draw: 0.5,
    head: {} as Partial<Record<RouteClass, number>>,
    queued: 0,
    saturated: false,
    places: undefined as number | undefined,
  };
  const c = new ShedController({
    targetMs: 5,
    tolerance: 1.5,
    sustain: 3,
    warmup: 20,
    windowMs: 100,
    gain: 0.1,
    maxShed: 0.9,
    busyUtilization: 0.9,
    utilization: () => s.util,
    now: () => s.t,
    random: () => s.draw,
    classState: (cls) => ({
      headAgeMs: s.head[cls] ?? 0,
      queued: s.queued,
      saturated: s.saturated,
      places: s.places,
    }),
  });
  /**
   * One window in which `n` requests of `cls` left the queue, the quickest after `sojournMs`
   * behind `ahead` others (by default as many as the sojourn's ms: one a millisecond).
   */
  const windowOf = (cls: RouteClass, sojournMs: number, n = 10, ahead = sojournMs) => {
    for (let i = 0; i < n; i++) c.observe(cls, sojournMs + i, ahead + i);
    s.t += 100;
    c.roll();
  };
  /** Warms `cls` up at a normal (smallest) sojourn of 10 ms behind 10: its targets become 15 ms and 15. */
  const warm = (cls: RouteClass) => {
    for (let i = 0; i < 20; i++) windowOf(cls, 10);
  };
  return { c, s, windowOf, warm };
}

describe("ShedController (injected clock and utilization)", () => {
  it("learns the normal sojourn first and never sheds it, even with the loop saturated", () => {
    const { c, windowOf, warm } = controller();
    expect(c.target("write")).toBe(Number.POSITIVE_INFINITY);
    warm("write");
    expect(c.target("write")).toBeCloseTo(15);
    for (let i = 0; i < 200; i++) windowOf("write", 10 + (i % 5));
    expect(c.share("write")).toBe(0);
    expect(c.refuse("write")).toBe(false);
  });

  it("does not shed a queue that is slow but no deeper than normal (a process short of CPU)", () => {
    const { c, windowOf, warm } = controller();
    warm("write");
    for (let i = 0; i < 20; i++) windowOf("write", 60, 10, 10);
    expect(c.share("write")).toBe(0);
    for (let i = 0; i < 5; i++) windowOf("write", 60, 10, 40); // deeper too: a standing queue
    expect(c.share("write")).toBeGreaterThan(0);
  });

  it("never sheds a queue no deeper than the class's places (one batch of hand-offs)", () => {
    const { c, s, windowOf } = controller();
    s.places = 16;
    for (let i = 0; i < 20; i++) windowOf("inference", 1, 10, 0); // normal: nothing waits ahead
    expect(c.depthTarget("inference")).toBe(16);
    for (let i = 0; i < 20; i++) windowOf("inference", 60, 10, 16);
    expect(c.share("inference")).toBe(0);
    for (let i = 0; i < 5; i++) windowOf("inference", 60, 10, 40); // deeper than its places: shed
    expect(c.share("inference")).toBeGreaterThan(0);
  });

  it("keeps the target's floor when the normal is quicker than it", () => {
    const { c, windowOf } = controller();
    for (let i = 0; i < 20; i++) windowOf("read", 1);
    expect(c.target("read")).toBe(5);
  });

  it("ignores a short excess, then sheds the class in proportion to it, only that class, up to the cap", () => {
    const { c, s, windowOf, warm } = controller();
    warm("write");
    warm("read");
    windowOf("write", 30);
    windowOf("write", 30);
    expect(c.share("write")).toBe(0); // two windows: a burst, not a standing queue
    windowOf("write", 30); // third window at twice the target: + gain x 1
    expect(c.share("write")).toBeCloseTo(0.1);
    windowOf("write", 22.5); // 1.5x: + gain x 0.5
    expect(c.share("write")).toBeCloseTo(0.15);
    expect(c.share("read")).toBe(0);
    s.draw = 0.1;
    expect(c.refuse("write")).toBe(true);
    expect(c.refuse("read")).toBe(false);
    s.draw = 0.2;
    expect(c.refuse("write")).toBe(false);
    for (let i = 0; i < 40; i++) windowOf("write", 1000);
    expect(c.share("write")).toBeCloseTo(0.9);
    // The normal did not follow the overload.
    expect(c.target("write")).toBeCloseTo(15);
  });

  it("does not shed while the loop has room and the class has places", () => {
    const { c, s, windowOf, warm } = controller();
    warm("inference");
    s.util = 0.5;
    for (let i = 0; i < 5; i++) windowOf("inference", 50);
    expect(c.share("inference")).toBe(0);
    s.saturated = true; // all of the class's places taken: its own queue, shed even with the loop idle
    for (let i = 0; i < 3; i++) windowOf("inference", 50);
    expect(c.share("inference")).toBeGreaterThan(0);
  });

  it("counts the head's age when nothing left the queue, and stops shedding once under target", () => {
    const { c, s, windowOf, warm } = controller();
    warm("read");
    s.head.read = 45; // 3x the targets: + gain x 2 a window, from the third
    s.queued = 45;
    for (let i = 0; i < 3; i++) windowOf("read", 0, 0);
    expect(c.share("read")).toBeCloseTo(0.2);
    s.head.read = 0;
    s.queued = 0;
    windowOf("read", 10, 10, 10); // two thirds of the target: - gain x 1/3
    expect(c.share("read")).toBeCloseTo(0.2 - 0.1 / 3);
    windowOf("read", 0, 10, 0); // empty: - gain x 1
    expect(c.share("read")).toBeCloseTo(0.1 - 0.1 / 3);
    s.util = 0.3; // the loop has room: falls twice as fast
    windowOf("read", 0, 10, 0);
    expect(c.share("read")).toBe(0);
    // Over target again within 2 s: shed at once, no 3 windows to wait.
    s.util = 1;
    windowOf("read", 30);
    expect(c.share("read")).toBeCloseTo(0.1);
  });

  it("moves only once a window has passed", () => {
    const { c, s, warm } = controller();
    warm("write");
    for (let i = 0; i < 3; i++) {
      c.observe("write", 100, 100);
      s.t += 50;
      c.roll();
      expect(c.share("write")).toBe(0);
      s.t += 50;
      c.roll();
    }
    expect(c.share("write")).toBeGreaterThan(0);
  });
});

describe("FrontAdmission hand-off (slots stepped by hand, clock moved by the handlers)", () => {
  /** A gate whose handlers take `cost[class]` ms of the (hand-driven) clock each. */
  function gate(
    limits: Partial<Record<RouteClass, { limit: number; queue: number }>>,
    opts: {
      order?: "cost" | "oldest" | "classes";
      turnBudgetMs?: number;
      cost?: Partial<Record<string, number>>;
    } = {},
  ) {
    const turns: Array<() => void> = [];
    const clock = { t: 0 };
    const big = { limit: 100, queue: 100 };
    const g = new FrontAdmission({
      limits: { inference: big, read: big, write: big, llm: big, ...limits },
      shed: { targetMs: 5, utilization: () => 1 },
      now: () => clock.t,
      order: opts.order,
      turnBudgetMs: opts.turnBudgetMs ?? 1_000,
      schedule: (turn) => turns.push(turn),
    });
    const ran: string[] = [];
    const responses: EventEmitter[] = [];
    const send = (method: string, url: string) => {
      const res = Object.assign(new EventEmitter(), {
        destroyed: false,
        status: 0,
        headers: {} as Record<string, unknown>,
        writeHead(status: number, headers: Record<string, unknown>) {
          res.status = status;
          res.headers = headers;
        },
        end() {},
      });
      const req = { method, url, headers: {}, socket: { destroyed: false }, resume() {} };
      responses.push(res);
      const kind = url.split("?")[1]?.[0] ?? "";
      clock.t += 0.01; // arrivals in order
      g.handle(req as unknown as IncomingMessage, res as unknown as ServerResponse, () => {
        ran.push(url);
        clock.t += opts.cost?.[kind] ?? 0;
      });
      return res;
    };
    const step = () => (turns.shift() as () => void)();
    const names = () => ran.map((u) => u.split("?")[1]);
    return { g, turns, ran, send, step, names, clock };
  }

  it("hands every runnable request to the app in one batch of slots, nothing inside the listener", () => {
    const { turns, ran, send, step, names } = gate({}, { order: "oldest" });
    send("POST", "/api/2.0/mlflow/runs/log-metric?w0");
    send("POST", "/api/2.0/mlflow/runs/search?r0");
    send("POST", "/api/2.0/mlflow/runs/log-metric?w1");
    send("POST", "/v2/models/fraud/infer?i0");
    expect(ran).toEqual([]); // nothing runs inside the listener
    expect(turns.length).toBe(4); // one slot each: arrivals read in one poll join the same batch
    while (turns.length) step();
    expect(names()).toEqual(["w0", "r0", "w1", "i0"]); // oldest first
  });

  it("ends a batch once its loop-time budget is spent; the rest go in the next batch", () => {
    const { turns, send, step, names } = gate({}, { order: "oldest", turnBudgetMs: 2, cost: { w: 1 } });
    for (let i = 0; i < 6; i++) send("POST", `/api/2.0/mlflow/runs/log-metric?w${i}`);
    expect(turns.length).toBe(6);
    for (let i = 0; i < 6; i++) step();
    // 1 ms each: the first two fit the 2 ms budget, the other four slots hand nothing off.
    expect(names()).toEqual(["w0", "w1"]);
    expect(turns.length).toBe(4); // the next batch, after node has polled the sockets
    while (turns.length) step();
    expect(names()).toEqual(["w0", "w1", "w2", "w3", "w4", "w5"]);
  });

  it("with order 'cost' shares the loop's time between classes: a cheap class gets more hand-offs than a costly one", () => {
    const { g, turns, send, step, names } = gate({}, { order: "cost", cost: { w: 4, r: 1 } });
    for (let i = 0; i < 40; i++) {
      send("POST", `/api/2.0/mlflow/runs/log-metric?w${i}`);
      send("POST", `/api/2.0/mlflow/runs/search?r${i}`);
    }
    while (turns.length) step();
    expect(g.state("write").admitted + g.state("read").admitted).toBe(80);
    const first = names().slice(0, 40);
    const reads = first.filter((n) => n.startsWith("r")).length;
    // Writes cost 4x reads: about 4 reads per write once the costs are learned (20 each in turn).
    expect(reads).toBeGreaterThanOrEqual(28);
    expect(names().filter((n) => n.startsWith("w")).length).toBe(40); // writes are not starved
  });

  it("with order 'classes', classes in turn, so no class waits behind another's backlog", () => {
    const { turns, ran, send, step, names } = gate({}, { order: "classes" });
    for (let i = 0; i < 3; i++) send("POST", `/api/2.0/mlflow/runs/log-metric?w${i}`);
    send("POST", "/api/2.0/mlflow/runs/search?r0");
    send("POST", "/v2/models/fraud/infer?i0");
    expect(ran).toEqual([]); // nothing runs inside the listener
    while (turns.length) step();
    expect(names()).toEqual(["i0", "r0", "w0", "w1", "w2"]);
  });

  it("keeps a class within its places and queue: the next waits for a place, one more is refused", () => {
    const { g, turns, ran, send, step } = gate({ write: { limit: 1, queue: 1 } });
    const first = send("POST", "/api/2.0/mlflow/runs/log-metric?a");
    step();
    send("POST", "/api/2.0/mlflow/runs/log-metric?b");
    expect(g.state("write")).toMatchObject({ running: 1, queued: 1 });
    const refused = send("POST", "/api/2.0/mlflow/runs/log-metric?c");
    expect(g.state("write").refused).toBe(1);
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(turns.length).toBe(0); // no place: nothing to hand over
    first.emit("close");
    step();
    expect(ran.map((u) => u.split("?")[1])).toEqual(["a", "b"]);
    expect(g.state("write")).toMatchObject({ running: 1, queued: 0, admitted: 2 });
  });
});

/** POST over one kept-alive socket: status, Retry-After, JSON body and the socket's local port. */
function post(agent: Agent, url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const base = new URL(url);
  const payload = JSON.stringify(body);
  return new Promise<{ status: number; retryAfter?: string; json: Record<string, unknown>; port?: number }>(
    (done, fail) => {
      const req = request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          path,
          method: "POST",
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(payload),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            done({
              status: res.statusCode ?? 0,
              retryAfter: res.headers["retry-after"] as string | undefined,
              json: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}"),
              port: req.socket?.localPort,
            }),
          );
        },
      );
      req.on("error", fail);
      req.end(payload);
    },
  );
}

describe("KEEL_ADMISSION=front on keel dev's server", () => {
  let p: TestPlatform;
  // Writes and inference have no place and no queue: every such arrival is refused by the gate.
  beforeAll(async () => {
    p = await startTestPlatform({
      config: { http: { admission: "front", admissionLimits: "write=0:0,inference=0:0" } },
    });
  });
  afterAll(() => p?.close());

  it("refuses in node's listener, before the app: 503, Retry-After, MLflow's error shape; the route never runs", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const name = `front-${Date.now()}`;
    const first = await post(agent, p.url, "/api/2.0/mlflow/experiments/create", {
      name,
      pad: "x".repeat(64_000),
    });
    expect(first.status).toBe(503);
    expect(first.retryAfter).toBe("1");
    expect(first.json.error_code).toBe("TEMPORARILY_UNAVAILABLE");
    expect(String(first.json.message)).toMatch(/write requests are being shed/);
    // The same kept-alive socket carries the next requests (the refused body was drained).
    const second = await post(agent, p.url, "/api/2.0/mlflow/experiments/create", { name });
    expect(second.status).toBe(503);
    expect(second.port).toBe(first.port);
    // Reads pass the gate: the experiment was never created, so the handler never ran.
    const search = await post(agent, p.url, "/api/2.0/mlflow/experiments/search", {
      filter: `name = '${name}'`,
    });
    expect(search.status).toBe(200);
    expect(search.port).toBe(first.port);
    expect(search.json.experiments ?? []).toEqual([]);
    agent.destroy();
  });

  it("answers KServe v2 routes in their own shape", async () => {
    const agent = new Agent({ keepAlive: true });
    const res = await post(agent, p.url, "/v2/models/fraud/infer", { inputs: [] });
    expect(res.status).toBe(503);
    expect(res.retryAfter).toBe("1");
    expect(Object.keys(res.json)).toEqual(["error"]);
    agent.destroy();
  });

  it("lets the platform's own calls (the internal token) and health checks through", async () => {
    const agent = new Agent({ keepAlive: true });
    const name = `front-internal-${Date.now()}`;
    const res = await post(
      agent,
      p.url,
      "/api/2.0/mlflow/experiments/create",
      { name },
      internalCallHeaders(),
    );
    expect(res.status).toBe(200);
    expect(res.json.experiment_id).toBeTruthy();
    expect((await p.call("GET", "/health")).status).toBe(200);
    agent.destroy();
  });
});

describe("front admission config", () => {
  it("reads KEEL_ADMISSION_LIMITS and the sojourn target; queues default to 16 per place", () => {
    const o = frontAdmissionConfig({ admissionLimits: "read=2:3", admissionTargetMs: 7 }, "tok");
    expect(o.limits.read).toEqual({ limit: 2, queue: 3 });
    expect(o.limits.write.queue).toBe(16 * o.limits.write.limit);
    expect(o.shed.targetMs).toBe(7);
    expect(o.internalToken).toBe("tok");
  });
});

describe("front admission outside keel dev's server (the Lambda handlers' Hono app)", () => {
  it("is the fixed in-flight cap there: nothing learned, nothing queued", async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const app = new Hono();
    app.use("*", admission({ maxInFlight: 1, mode: "front" }));
    app.post("/api/2.0/mlflow/runs/log-metric", async (c) => {
      await gate;
      return c.json({});
    });
    const first = app.request("/api/2.0/mlflow/runs/log-metric", { method: "POST" });
    const second = await app.request("/api/2.0/mlflow/runs/log-metric", { method: "POST" });
    expect(second.status).toBe(503);
    release();
    expect((await first).status).toBe(200);
  });
});
