import { definePipeline, LocalScheduler, nextFireTime, parseCron, toEventBridgeCron } from "@keel/pipelines";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startPipelineHarness } from "./harness";

const matches = (expr: string, t: number) => {
  const c = parseCron(expr);
  const d = new Date(t);
  const dom = c.days.has(d.getUTCDate());
  const dow = c.weekdays.has(d.getUTCDay());
  const day = c.dayRestricted && c.weekdayRestricted ? dom || dow : dom && dow;
  return (
    c.minutes.has(d.getUTCMinutes()) &&
    c.hours.has(d.getUTCHours()) &&
    c.months.has(d.getUTCMonth() + 1) &&
    day
  );
};

const cronArb = fc
  .tuple(
    fc.constantFrom("*", "0", "*/15", "5,35", "10-20/5"),
    fc.constantFrom("*", "3", "9-17", "*/6"),
    fc.constantFrom("*", "1", "15", "1-7"),
    fc.constantFrom("*", "1", "*/3", "6-8"),
    fc.constantFrom("*", "0", "1-5", "6,0"),
  )
  .map((f) => f.join(" "));

describe("cron", () => {
  it("finds the first matching minute after any instant (property)", () => {
    fc.assert(
      fc.property(
        cronArb,
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
        (expr, after) => {
          const next = nextFireTime(expr, after);
          expect(next).toBeGreaterThan(after);
          expect(next % 60_000).toBe(0);
          expect(matches(expr, next)).toBe(true);
          // No matching minute is skipped in between (checked over the last day before it).
          for (
            let t = Math.max(Math.floor(after / 60_000) * 60_000 + 60_000, next - 86_400_000);
            t < next;
            t += 60_000
          ) {
            expect(matches(expr, t)).toBe(false);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("rejects malformed expressions naming the field", () => {
    expect(() => parseCron("61 * * * *")).toThrow(/minute field "61"/);
    expect(() => parseCron("* * *")).toThrow(/expected 5 fields/);
    expect(() => nextFireTime("0 0 30 2 *", 0)).toThrow(/never fires/);
  });

  it("translates to EventBridge Scheduler's cron with ? and 1-based weekdays", () => {
    expect(toEventBridgeCron("0 3 * * *")).toBe("cron(0 3 * * ? *)");
    expect(toEventBridgeCron("30 6 * * 1-5")).toBe("cron(30 6 ? * 2,3,4,5,6 *)");
    expect(toEventBridgeCron("@monthly")).toBe("cron(0 0 1 * ? *)");
    expect(() => toEventBridgeCron("0 0 1 * 1")).toThrow(/cannot restrict both/);
  });
});

describe("LocalScheduler", () => {
  const nightly = definePipeline({
    name: "nightly",
    params: z.object({ ds: z.string() }),
    schedule: "0 2 * * *",
    steps: [{ name: "work", kind: "lambda", handler: (ctx) => ({ day: ctx.ds ?? "none" }) }],
  });
  let h: Awaited<ReturnType<typeof startPipelineHarness>>;
  let now = Date.UTC(2025, 4, 10, 1, 59, 30);
  const clock = { now: () => now };
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  let scheduler: LocalScheduler;

  beforeAll(async () => {
    h = await startPipelineHarness({ clock });
    await h.service.register(nightly);
    scheduler = new LocalScheduler(
      h.service,
      clock,
      { info() {}, warn() {}, error() {}, debug() {}, child: () => ({}) as never },
      {
        set: (fn, ms) => {
          const t = { fn, ms, cleared: false };
          timers.push(t);
          return t;
        },
        clear: (t) => {
          (t as { cleared: boolean }).cleared = true;
        },
      },
    );
  });
  afterAll(async () => {
    scheduler?.stop();
    await h?.close();
  });

  it("arms a timer for the next fire time and starts a run with the fire date as ds when it fires", async () => {
    scheduler.start();
    expect(timers).toHaveLength(1);
    expect(timers[0].ms).toBe(30_000);
    expect(scheduler.nextFires()).toEqual({ nightly: Date.UTC(2025, 4, 10, 2, 0) });

    now = Date.UTC(2025, 4, 10, 2, 0, 0, 5);
    timers[0].fn();
    for (let i = 0; i < 100 && (await h.service.runs.listRuns()).runs.length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    const [run] = (await h.service.runs.listRuns({ pipeline: "nightly" })).runs;
    expect(run).toMatchObject({
      runId: "sched-20250510T0200-nightly",
      trigger: "schedule",
      params: { ds: "2025-05-10" },
    });
    const done = await h.service.waitForRun(run.runId);
    expect(done.status).toBe("SUCCEEDED");
    expect(timers[1].ms).toBe(86_400_000 - 5);
    expect(scheduler.nextFires()).toEqual({ nightly: Date.UTC(2025, 4, 11, 2, 0) });
  });

  it("re-arms instead of firing early when a timer wakes before its time", () => {
    now = Date.UTC(2025, 4, 11, 1, 0);
    timers[1].fn();
    expect(timers[2].ms).toBe(3_600_000);
    scheduler.stop();
    expect(timers[2].cleared).toBe(true);
  });
});
