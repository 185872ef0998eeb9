import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore } from "@keel/artifacts";
import { systemClock } from "@keel/core";
import { createStepLambdaHandler, RunStore } from "@keel/pipelines";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { training } from "../../examples/pipelines/training";
import { freshMetadataStore } from "../helpers/metadata";

let meta: Awaited<ReturnType<typeof freshMetadataStore>>;
let root: string;
let handler: ReturnType<typeof createStepLambdaHandler>;
beforeAll(async () => {
  meta = await freshMetadataStore();
  root = mkdtempSync(join(tmpdir(), "keel-step-lambda-"));
  handler = createStepLambdaHandler({
    pipelines: [training],
    store: meta.store,
    artifacts: new FsArtifactStore(root),
    clock: systemClock,
  });
});
afterAll(async () => {
  await meta?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("the step Lambda's handler (what the state machine's Tasks call in AWS)", () => {
  const executionId = "arn:aws:states:us-east-1:123456789012:execution:keel-prod-train-fraud:sched-1";

  it("validates a scheduled execution's input, deriving ds, and records the run", async () => {
    const state = await handler({
      action: "validate",
      pipeline: "train-fraud",
      input: { params: { rows: 20 }, scheduledTime: "2025-05-10T03:00:00Z" },
      executionName: "sched-1",
      executionId,
    });
    expect(state).toMatchObject({
      keel: { runId: "sched-1", params: { rows: 20, ds: "2025-05-10" } },
      steps: {},
      skipped: {},
    });
    const run = await new RunStore(meta.store, systemClock).getRun("sched-1");
    expect(run).toMatchObject({
      status: "RUNNING",
      trigger: "schedule",
      executionId,
      params: { ds: "2025-05-10" },
    });
  });

  it("fails bad input with Keel.InvalidInput naming the field", async () => {
    await expect(
      handler({
        action: "validate",
        pipeline: "train-fraud",
        input: { params: { rows: 2 } },
        executionName: "x",
      }),
    ).rejects.toMatchObject({
      name: "Keel.InvalidInput",
      message: expect.stringContaining("params.rows"),
    });
    await expect(handler({ action: "validate", pipeline: "other", input: {} })).rejects.toMatchObject({
      name: "Keel.UnknownPipeline",
    });
  });

  it("runs a lambda step and a map element with the same runtime as the local runner", async () => {
    const keel = {
      runId: "sched-1",
      pipeline: "train-fraud",
      params: { rows: 20, learningRates: [0.1], threshold: 0.8, failTraining: false },
      noCache: false,
    };
    expect(
      await handler({ action: "step", pipeline: "train-fraud", step: "plan", keel, inputs: {} }),
    ).toEqual({ trials: [{ lr: 0.1 }] });
    expect(
      await handler({
        action: "step",
        pipeline: "train-fraud",
        step: "tune",
        keel,
        inputs: {},
        item: { lr: 0.1 },
        index: 0,
      }),
    ).toEqual({ lr: 0.1, score: 1 });
  });
});
