import { definePipeline, type PipelineExecutor } from "@keel/pipelines";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startPipelineHarness } from "./harness";

/** Switches the tests flip to make steps fail and recover (module state the handlers read). */
const world = { flakyFailuresLeft: 0, broken: true, slowRelease: () => {} };

const behaviour = definePipeline({
  name: "behaviour",
  params: z.object({ size: z.number().int().default(10) }),
  steps: [
    { name: "first", kind: "lambda", handler: (ctx) => ({ n: ctx.params.size }) },
    {
      name: "flaky",
      kind: "lambda",
      dependsOn: ["first"],
      retry: { maxAttempts: 3, intervalSeconds: 1, backoffRate: 2 },
      handler: () => {
        if (world.flakyFailuresLeft > 0) {
          world.flakyFailuresLeft--;
          throw new Error("transient");
        }
        return { ok: true };
      },
    },
    {
      name: "big",
      kind: "lambda",
      dependsOn: ["first"],
      onFailure: "continue",
      handler: (ctx) => ({ blob: "x".repeat(ctx.params.size) }),
    },
    { name: "afterBig", kind: "lambda", dependsOn: ["big"], handler: () => ({ ran: true }) },
    {
      name: "fragile",
      kind: "lambda",
      dependsOn: ["flaky"],
      cache: false,
      handler: () => {
        if (world.broken) throw new Error("fragile is broken");
        return { fixed: true };
      },
    },
    { name: "last", kind: "lambda", dependsOn: ["fragile"], handler: () => ({ done: true }) },
  ],
});

const slow = definePipeline({
  name: "slow",
  params: z.object({}),
  steps: [
    {
      name: "wait",
      kind: "lambda",
      handler: () => new Promise((resolve) => (world.slowRelease = () => resolve({ released: true }))),
    },
  ],
});

const hang = definePipeline({
  name: "hang",
  params: z.object({}),
  steps: [
    {
      name: "stuck",
      kind: "lambda",
      timeoutSeconds: 1,
      handler: () => new Promise((resolve) => setTimeout(() => resolve({ late: true }), 2500)),
    },
  ],
});

let h: Awaited<ReturnType<typeof startPipelineHarness>>;
beforeAll(async () => {
  h = await startPipelineHarness();
  await h.service.register(behaviour);
  await h.service.register(slow);
  await h.service.register(hang);
});
afterAll(async () => h?.close());

async function run(params: Record<string, unknown> = {}) {
  const r = await h.service.startRun("behaviour", { params });
  await h.service.waitForRun(r.runId);
  const got = await h.service.getRun(r.runId);
  return { run: got.run, s: Object.fromEntries(got.steps.map((x) => [x.step, x])) };
}

describe("step behaviour in the in-process runner", () => {
  let failed: Awaited<ReturnType<typeof run>>;

  it("retries a failing step and records every attempt", async () => {
    world.flakyFailuresLeft = 2;
    failed = await run({ size: 10 });
    expect(failed.s.flaky.status).toBe("SUCCEEDED");
    expect(failed.s.flaky.attempts).toBe(3);
    expect(failed.s.first.attempts).toBe(1);
  });

  it("fails the run at a broken step, leaving later steps unrun", () => {
    expect(failed.run.status).toBe("FAILED");
    expect(failed.s.fragile.status).toBe("FAILED");
    expect(failed.s.fragile.cause).toContain("fragile is broken");
    expect(failed.s.last).toBeUndefined();
  });

  it("resumes a failed run from the failed step, reusing what succeeded", async () => {
    world.broken = false;
    const resumed = await h.service.resume(failed.run.runId);
    expect(resumed.resumedFrom).toBe(failed.run.runId);
    await h.service.waitForRun(resumed.runId);
    const got = await h.service.getRun(resumed.runId);
    const s = Object.fromEntries(got.steps.map((x) => [x.step, x]));
    expect(got.run.status).toBe("SUCCEEDED");
    expect(s.first.status).toBe("REUSED");
    expect(s.flaky.status).toBe("REUSED");
    expect(s.first.output).toEqual({ n: 10 });
    expect(s.fragile.status).toBe("SUCCEEDED");
    expect(s.last.status).toBe("SUCCEEDED");
    await expect(h.service.resume(resumed.runId)).rejects.toMatchObject({ code: "INVALID_STATE" });
  });

  it("guards the payload size: an oversized output fails the step with a message saying what to do", async () => {
    const r = await run({ size: 40_000 });
    expect(r.s.big.status).toBe("FAILED");
    expect(r.s.big.error).toBe("Keel.PayloadTooLarge");
    expect(r.s.big.cause).toContain("write large data to the artifact store");
    // onFailure "continue": the error is recorded, dependants are skipped, the run goes on.
    expect(r.s.big.continued).toBe(true);
    expect(r.s.afterBig.status).toBe("SKIPPED");
    expect(r.run.status).toBe("SUCCEEDED");
  });

  it("validates the execution input in the first state, failing clearly when started without Keel", async () => {
    const executor: PipelineExecutor = h.service.executor;
    const { executionId } = await executor.start({
      pipeline: "behaviour",
      name: "console-start",
      input: { params: { size: "big" }, extra: 1 },
    });
    let d = await executor.describe(executionId);
    for (let after = 0; d.status === "RUNNING"; d = await executor.describe(executionId)) {
      const evs = await executor.history(executionId, { after, waitMs: 1000 });
      after = evs.at(-1)?.seq ?? after;
    }
    expect(d.status).toBe("FAILED");
    expect(d.error).toBe("Keel.InvalidInput");
    expect(d.cause).toContain('Unrecognized key: "extra"');
  });

  it("stops a running run: ABORTED, with the stop in the audit log", async () => {
    const started = await h.service.startRun("slow");
    for (let i = 0; i < 100; i++) {
      const { steps } = await h.service.getRun(started.runId);
      if (steps.some((x) => x.step === "wait" && x.status === "RUNNING")) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const stopped = await h.service.stop(started.runId);
    world.slowRelease();
    expect(stopped.status).toBe("ABORTED");
    const { events } = await h.audit.list({ resource: `pipeline:slow/run:${started.runId}` });
    expect(events.map((e) => e.action)).toEqual([
      "pipeline.run.start",
      "pipeline.run.stop",
      "pipeline.run.finish",
    ]);
  });

  it("fails a step that runs past its timeout with States.Timeout", async () => {
    const r = await h.service.startRun("hang");
    const done = await h.service.waitForRun(r.runId);
    const { steps } = await h.service.getRun(r.runId);
    expect(done.status).toBe("FAILED");
    expect(done.error).toBe("States.Timeout");
    expect(steps.find((x) => x.step === "stuck")).toMatchObject({
      status: "FAILED",
      error: "States.Timeout",
    });
  });
});
