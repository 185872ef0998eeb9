import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { training } from "../../examples/pipelines/training";
import { startPipelineHarness } from "./harness";
import { memoryTracking } from "./tracking-fake";

const mirror = memoryTracking();
let h: Awaited<ReturnType<typeof startPipelineHarness>>;
beforeAll(async () => {
  h = await startPipelineHarness({ tracking: mirror.tracking });
  await h.service.register(training);
});
afterAll(async () => h?.close());

type Steps = Awaited<ReturnType<typeof h.service.getRun>>["steps"];
const top = (steps: Steps) =>
  Object.fromEntries(steps.filter((s) => s.index === undefined).map((s) => [s.step, s]));

async function runToEnd(params: Record<string, unknown>, noCache = false) {
  const started = await h.service.startRun("train-fraud", { params, noCache });
  await h.service.waitForRun(started.runId);
  return h.service.getRun(started.runId);
}

describe("the example training pipeline, in process", () => {
  let first: Awaited<ReturnType<typeof runToEnd>>;

  it("runs the map of trials, the container training step and the gate, and records every step", async () => {
    first = await runToEnd({ rows: 50 });
    const s = top(first.steps);
    expect(first.run.status).toBe("SUCCEEDED");
    for (const name of ["prepare", "plan", "tune", "pick", "train", "evaluate", "quality", "register"]) {
      expect(s[name].status, name).toBe("SUCCEEDED");
      expect(s[name].attempts, name).toBe(1);
      expect(s[name].startTime, name).toBeLessThanOrEqual(s[name].endTime!);
    }
    expect(s.report.status).toBe("SKIPPED");
    expect(s.quality.output).toEqual({ passed: true });
    expect(s.pick.output).toEqual({ lr: 0.1, score: 1 });
    expect(String((s.train.output as { artifactUri: string }).artifactUri)).toMatch(
      /^file:\/\/.*\/train\/model$/,
    );
    expect(
      first.steps.filter((x) => x.step === "tune" && x.index !== undefined).map((x) => x.status),
    ).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    expect(first.run.output).toMatchObject({
      runId: first.run.runId,
      steps: { register: { registered: true } },
    });
  });

  it("keeps each step's log, including the container's stdout, in the artifact store", async () => {
    const log = String(await h.artifacts.getBytes(`pipelines/train-fraud/${first.run.runId}/train/log.txt`));
    expect(log).toContain("training on file://");
    expect(log).toContain("model written");
    const model = JSON.parse(
      String(await h.artifacts.getBytes(`pipelines/train-fraud/${first.run.runId}/train/model/model.json`)),
    );
    expect(model.lr).toBe(0.1);
    expect(top(first.steps).prepare.logUri).toMatch(/prepare\/log\.txt$/);
  });

  it("mirrors the run into tracking with one nested run per step", async () => {
    const parent = [...mirror.runs.entries()].find(
      ([, r]) => r.tags["keel.pipeline.runId"] === first.run.runId && !r.tags["mlflow.parentRunId"],
    );
    expect(parent?.[0]).toBe(first.run.trackingRunId);
    expect(parent?.[1].status).toBe("FINISHED");
    expect(parent?.[1].params.rows).toBe("50");
    const nested = [...mirror.runs.values()].filter(
      (r) => r.tags["mlflow.parentRunId"] === first.run.trackingRunId,
    );
    const names = nested.map((r) => r.name).sort();
    expect(names).toEqual([
      "evaluate",
      "pick",
      "plan",
      "prepare",
      "register",
      "train",
      "tune",
      "tune[0]",
      "tune[1]",
      "tune[2]",
    ]);
    expect(
      nested.every((r) => r.status === "FINISHED" && r.tags["keel.pipeline.runId"] === first.run.runId),
    ).toBe(true);
    expect(nested.find((r) => r.name === "evaluate")?.metrics.auc).toBe(0.95);
  });

  it("appends audit events for the trigger and the outcome", async () => {
    const { events } = await h.audit.list({ resource: `pipeline:train-fraud/run:${first.run.runId}` });
    expect(events.map((e) => e.action)).toEqual(["pipeline.run.start", "pipeline.run.finish"]);
  });

  it("skips cached steps on a re-run with the same inputs, and --no-cache runs everything", async () => {
    const again = await runToEnd({ rows: 50 });
    const s = top(again.steps);
    expect(again.run.status).toBe("SUCCEEDED");
    for (const name of ["prepare", "plan", "pick", "train", "evaluate", "register"]) {
      expect(s[name].status, name).toBe("CACHED");
      expect(s[name].cachedFrom, name).toBe(first.run.runId);
    }
    expect(
      again.steps
        .filter((x) => x.step === "tune" && x.index !== undefined)
        .every((x) => x.status === "CACHED"),
    ).toBe(true);

    const fresh = await runToEnd({ rows: 50 }, true);
    expect(Object.values(top(fresh.steps)).filter((x) => x.status === "CACHED")).toEqual([]);

    const changed = await runToEnd({ rows: 60 });
    // Params are part of every step's resolved inputs, so changing one recomputes the steps.
    expect(top(changed.steps).prepare.status).toBe("SUCCEEDED");
  });

  it("takes the ifFalse branch when the gate's condition does not hold", async () => {
    const r = await runToEnd({ rows: 50, threshold: 0.99 });
    const s = top(r.steps);
    expect(r.run.status).toBe("SUCCEEDED");
    expect(s.quality.output).toEqual({ passed: false });
    expect(s.register.status).toBe("SKIPPED");
    expect(s.report.status).toBe("SUCCEEDED");
  });

  it("fails the run when the container exits non-zero, running the pipeline's on-failure hook", async () => {
    const r = await runToEnd({ rows: 50, failTraining: true });
    const s = top(r.steps);
    expect(r.run.status).toBe("FAILED");
    expect(r.run.error).toBe("Keel.ContainerFailed");
    expect(r.run.cause).toContain("exited with code 3");
    expect(s.train.status).toBe("FAILED");
    expect(s.onFailure.status).toBe("SUCCEEDED");
    expect(s.evaluate).toBeUndefined();
    const log = String(await h.artifacts.getBytes(`pipelines/train-fraud/${r.run.runId}/train/log.txt`));
    expect(log).toContain("[stderr] training failed on purpose");
    expect(s.train.logTail).toContain("[stderr] training failed on purpose");
  });

  it("rejects bad params before anything runs, naming the field", async () => {
    await expect(h.service.startRun("train-fraud", { params: { rows: 1 } })).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      message: expect.stringContaining("params.rows"),
    });
  });
});
