import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import "@keel/pipelines"; // polyfills Promise.withResolvers for aws-local-stepfunctions on Node 20
import { systemClock } from "@keel/core";
import {
  compileTuning,
  defineTuning,
  intRange,
  logUniform,
  PROGRESS_PARAM,
  TUNING_STATE,
  type TuningSpec,
  TuningStepController,
} from "@keel/tuning";
import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { syntheticData, writeSyntheticParquet } from "../train/synthetic";

let keel: Awaited<ReturnType<typeof startTestPlatform>>;
let dir = "";
const data = syntheticData(3000, 4, 8);

beforeAll(async () => {
  keel = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), "keel-tune-sfn-"));
  await writeSyntheticParquet(join(dir, "train.parquet"), data, "y");
});
afterAll(async () => {
  await keel?.close();
  await rm(dir, { recursive: true, force: true });
});

const MAX_ROUNDS = 60;
const spec: TuningSpec = {
  ...defineTuning({
    name: "gbdt-sfn",
    run: () => ({}),
    parameters: { learningRate: logUniform(0.005, 0.5), maxDepth: intRange(2, 6) },
    objective: { metric: "metrics.valid_auc", goal: "maximize" },
    algorithm: "random",
    earlyStopping: {
      rule: "asha",
      metric: "valid_logloss",
      goal: "minimize",
      budgetParam: "rounds",
      minBudget: 4,
      maxBudget: MAX_ROUNDS,
    },
    maxTrials: 8,
    parallelTrials: 2,
    maxRetries: 0,
    seed: 4,
  }).spec,
  // In AWS a trial is a run of the tuned pipeline (startExecution.sync:2); its train step is the built-in trainer.
  trial: { kind: "pipeline", pipeline: "train-only" },
};

/** The train step in its own thread, as its Lambda would run it; rejects with the step's error name. */
function trainStep(input: Record<string, unknown>): Promise<{ metrics: Record<string, number> }> {
  const w = new Worker(new URL("./fixtures/train-step-worker.mjs", import.meta.url), { workerData: input });
  return new Promise((resolve, reject) => {
    w.once(
      "message",
      (m: { output?: { metrics: Record<string, number> }; error?: { name: string; message: string } }) => {
        void w.terminate();
        if (m.output) resolve(m.output);
        else reject(Object.assign(new Error(m.error?.message), { name: m.error?.name ?? "Error" }));
      },
    );
    w.once("error", reject);
  });
}

describe("early stopping in the Step Functions path", () => {
  it("stops laggards through the progress endpoint: the trainer ends between rounds, the trial is EARLY_STOPPED", async () => {
    const experimentId = (await keel.call("POST", "/api/2.0/mlflow/experiments/create", { name: "tune-sfn" }))
      .json.experiment_id as string;
    const controller = new TuningStepController(keel.platform.services.tuning.store, systemClock, (n) =>
      n === spec.name ? spec : undefined,
    );
    const invokeController = async (input: { Payload: Parameters<TuningStepController["handle"]>[0] }) => ({
      Payload: await controller.handle(input.Payload),
    });
    const stoppedInTraining: number[] = [];
    const asl = compileTuning(spec, {
      controllerFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:keel-test-tuning-controller",
      pipelineStateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:keel-test-train-only",
    });
    const sm = new StateMachine(asl as unknown as StateMachineDefinition);
    const exec = sm.run(
      {},
      {
        context: {
          Execution: { Id: "local:gbdt-sfn:1", Name: "1", Input: {}, StartTime: new Date().toISOString() },
        } as never,
        overrides: {
          taskResourceLocalHandlers: {
            [TUNING_STATE.suggest]: invokeController as never,
            [TUNING_STATE.record]: invokeController as never,
            [TUNING_STATE.finish]: invokeController as never,
            // startExecution.sync:2 of the pipeline: its train step with the trial's parameters.
            [TUNING_STATE.trial]: (async (input: {
              Name: string;
              Input: { params: Record<string, unknown> };
            }) => {
              const p = input.Input.params;
              expect(typeof p[PROGRESS_PARAM]).toBe("string");
              try {
                const out = await trainStep({
                  trainingSetUri: join(dir, "train.parquet"),
                  label: "y",
                  features: data.features,
                  params: {
                    rounds: p.rounds,
                    learningRate: p.learningRate,
                    maxDepth: p.maxDepth,
                    maxBins: 32,
                    earlyStoppingRounds: 0,
                    seed: 1,
                  },
                  seed: 1,
                  trackingUrl: keel.url,
                  experimentId,
                  runName: input.Name,
                  progressUrl: p[PROGRESS_PARAM],
                });
                return { Output: { metrics: out.metrics } };
              } catch (e) {
                if ((e as Error).name === "TrainingStopped")
                  stoppedInTraining.push(Number(/(\d+) rounds/.exec((e as Error).message)?.[1]));
                throw e;
              }
            }) as never,
          },
        },
      },
    );
    const out = (await exec.result) as { status: string; best: { number: number; value: number } };
    expect(out.status).toBe("SUCCEEDED");
    const trials = await keel.platform.services.tuning.store.trials(spec.name);
    expect(trials).toHaveLength(8);
    const stopped = trials.filter((t) => t.status === "EARLY_STOPPED");
    const completed = trials.filter((t) => t.status === "COMPLETED");
    expect(stopped.length + completed.length).toBe(8);
    expect(stopped.length).toBeGreaterThan(0);
    // ASHA's rungs: 4, 12, 36 rounds.
    for (const t of stopped) expect([4, 12, 36]).toContain(t.stoppedAt);
    for (const t of completed) expect(t.curve.at(-1)?.[0]).toBe(MAX_ROUNDS);
    // A stop that reached a trainer while it trained ended it between rounds, short of the budget.
    // Whether one arrives before a trial's last round depends on the machine's load, so that the
    // flag stops a trainer is proven on its own in tests/train/progress-reporter.test.ts.
    for (const r of stoppedInTraining) expect(r).toBeLessThan(MAX_ROUNDS);
    expect(out.best.value).toBe(Math.max(...completed.map((t) => t.value!)));

    // A report for an attempt that is over is answered stop; an unknown trial is a 404.
    const late = await keel.call("POST", `/api/v1/tuning/experiments/gbdt-sfn/trials/0/progress?attempt=1`, {
      rounds: [{ step: 1, metrics: { valid_logloss: 0.5 } }],
    });
    expect(late.status).toBe(200);
    expect(late.json).toEqual({ stop: true });
    const unknown = await keel.call(
      "POST",
      `/api/v1/tuning/experiments/gbdt-sfn/trials/99/progress?attempt=1`,
      {
        rounds: [],
      },
    );
    expect(unknown.status).toBe(404);
  });
});
