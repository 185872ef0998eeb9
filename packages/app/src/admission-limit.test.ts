import { describe, expect, it } from "vitest";
import { AdaptiveLimit } from "./admission-limit";

/**
 * A deterministic model of a saturated server under closed-loop callers, stepped 1 ms at a time
 * on a fake clock: it completes `capacity` requests per ms shared by all admitted ones (so each
 * request's latency is the number admitted / capacity, Little's law), and every caller whose
 * request finished or was refused sends the next one at once (the worst case: no Retry-After).
 */
function server(limit: AdaptiveLimit, clock: { t: number }) {
  let running = 0;
  let credit = 0;
  return {
    run(opts: { callers: number; capacity: number; ms: number }) {
      const out = { admitted: 0, refused: 0, latencies: [] as number[] };
      for (let i = 0; i < opts.ms; i++) {
        clock.t++;
        while (running < opts.callers) {
          if (!limit.tryAcquire()) {
            out.refused++;
            break;
          }
          running++;
          out.admitted++;
        }
        credit += opts.capacity;
        const latency = running / opts.capacity;
        while (credit >= 1 && running > 0) {
          credit--;
          running--;
          out.latencies.push(latency);
          limit.release(latency);
        }
        if (running === 0) credit = 0;
      }
      return out;
    },
  };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

function setup(max = 256) {
  const clock = { t: 0 };
  const limit = new AdaptiveLimit({ max, now: () => clock.t });
  return { clock, limit, srv: server(limit, clock) };
}

describe("AdaptiveLimit", () => {
  it("admits a normal load in full, then under 4x the callers refuses the excess and keeps latency within 2x", () => {
    const { limit, srv } = setup();
    const normal = srv.run({ callers: 24, capacity: 1, ms: 5_000 });
    expect(normal.refused).toBe(0);
    const normalLatency = mean(normal.latencies.slice(-1000));
    expect(normalLatency).toBeCloseTo(24, 0);

    const over = srv.run({ callers: 96, capacity: 1, ms: 10_000 });
    expect(over.refused).toBeGreaterThan(0);
    // After it has adapted (the last 5 s): admitted latency within 2x of normal.
    const late = over.latencies.slice(-5000);
    expect(Math.max(...late)).toBeLessThanOrEqual(2 * normalLatency);
    const { limit: learned, baseline } = limit.state();
    expect(learned).toBeGreaterThanOrEqual(24);
    expect(learned).toBeLessThanOrEqual(48);
    // The overload did not become the new normal.
    expect(baseline?.latencyMs).toBeLessThan(1.2 * normalLatency);
  });

  it("does not refuse when background work slows the same callers down (latency up, concurrency not)", () => {
    const { limit, srv } = setup();
    srv.run({ callers: 24, capacity: 1, ms: 5_000 });
    const slowed = srv.run({ callers: 24, capacity: 0.4, ms: 5_000 });
    expect(slowed.refused).toBe(0);
    expect(limit.state().limit).toBe(256);
  });

  it("follows a heavier load that the server carries (idle to busy: throughput grows with concurrency)", () => {
    const { srv } = setup();
    // One caller on a fast path: 1 ms each.
    srv.run({ callers: 1, capacity: 1, ms: 3_000 });
    // Then 32 callers on a server with room: capacity grows with them (more cores, threads).
    const busy = srv.run({ callers: 32, capacity: 16, ms: 5_000 });
    expect(busy.refused).toBe(0);
  });

  it("grows back once the overload is gone and callers need more", () => {
    const { limit, srv } = setup(64);
    srv.run({ callers: 24, capacity: 1, ms: 5_000 });
    srv.run({ callers: 96, capacity: 1, ms: 5_000 });
    const cut = limit.state().limit;
    expect(cut).toBeLessThan(64);
    // The same server twice as fast (the neighbour's job ended): 40 callers now fit.
    srv.run({ callers: 40, capacity: 4, ms: 10_000 });
    expect(limit.state().limit).toBeGreaterThan(cut);
    const settled = srv.run({ callers: 40, capacity: 4, ms: 2_000 });
    expect(settled.refused).toBe(0);
  });

  it("always admits `min` requests at once and never more than `max`", () => {
    const clock = { t: 0 };
    const limit = new AdaptiveLimit({ max: 10, min: 4, now: () => clock.t });
    expect(limit.state().limit).toBe(10);
    const srv = server(limit, clock);
    srv.run({ callers: 1, capacity: 0.5, ms: 5_000 });
    const flood = srv.run({ callers: 100, capacity: 0.5, ms: 5_000 });
    expect(flood.admitted).toBeGreaterThan(0);
    expect(limit.state().limit).toBe(4);
    // Hold what runs, then take places until refused: exactly `min` at once.
    const held = limit.state().inFlight;
    let taken = held;
    while (limit.tryAcquire()) taken++;
    expect(taken).toBe(4);
  });

  it("counts the event loop's delay as waiting: a loop that leaves requests unread is seen as a queue", () => {
    // The app's own time stays 24 ms whatever the load; the surplus waits in the loop instead.
    const clock = { t: 0 };
    let running = 0;
    let waitSum = 0;
    let waitN = 0;
    const limit = new AdaptiveLimit({
      max: 256,
      now: () => clock.t,
      waitMs: () => {
        const w = waitN ? waitSum / waitN : 0;
        waitSum = 0;
        waitN = 0;
        return w;
      },
    });
    let refused = 0;
    const run = (callers: number, ms: number) => {
      for (let i = 0; i < ms; i++) {
        clock.t++;
        while (running < callers && limit.tryAcquire()) running++;
        if (running < callers) refused++;
        waitSum += Math.max(0, running - 24);
        waitN++;
        if (running > 0) {
          running--;
          limit.release(24);
        }
      }
    };
    run(24, 5_000);
    expect(refused).toBe(0);
    run(96, 5_000);
    expect(refused).toBeGreaterThan(0);
    expect(limit.state().limit).toBeLessThanOrEqual(48);
  });
});
