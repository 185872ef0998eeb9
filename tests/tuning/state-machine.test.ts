import "@keel/pipelines"; // polyfills Promise.withResolvers for aws-local-stepfunctions on Node 20
import { systemClock } from "@keel/core";
import {
  branin,
  compileTuning,
  defineTuning,
  TUNING_STATE,
  TuningStepController,
  TuningStore,
} from "@keel/tuning";
import validator from "asl-validator";
import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshMetadataStore } from "../helpers/metadata";

let db: Awaited<ReturnType<typeof freshMetadataStore>>;
beforeAll(async () => {
  db = await freshMetadataStore();
});
afterAll(async () => db?.close());

const def = defineTuning({
  name: "branin-sfn",
  run: () => ({}),
  parameters: branin.space,
  objective: { metric: "loss", goal: "minimize" },
  algorithm: "tpe",
  maxTrials: 12,
  parallelTrials: 3,
  maxRetries: 1,
  seed: 3,
});
const bindings = {
  controllerFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:keel-test-tuning-controller",
  trialFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:keel-test-tuning-trial",
};

describe("the tuning state machine", () => {
  it("is valid ASL: a controller task, a Map with MaxConcurrency = parallelTrials, a loop back", () => {
    const asl = compileTuning(def.spec, bindings);
    expect(validator(asl, { checkPaths: true, checkArn: true }).isValid).toBe(true);
    const map = asl.States[TUNING_STATE.trials] as unknown as { Type: string; MaxConcurrency: number };
    expect(map).toMatchObject({ Type: "Map", MaxConcurrency: 3 });
    expect(asl.States[TUNING_STATE.record]).toMatchObject({ Next: TUNING_STATE.suggest });
    const pipelineDef = compileTuning(
      { ...def.spec, trial: { kind: "pipeline", pipeline: "fraud" } },
      {
        ...bindings,
        pipelineStateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:keel-test-fraud",
      },
    );
    const inner = (
      pipelineDef.States[TUNING_STATE.trials] as unknown as {
        ItemProcessor: { States: Record<string, { Resource: string }> };
      }
    ).ItemProcessor.States[TUNING_STATE.trial];
    expect(inner.Resource).toBe("arn:aws:states:::states:startExecution.sync:2");
  });

  it("runs on the local ASL runner: every trial recorded, a failed one retried, concurrency capped, best found", async () => {
    const store = new TuningStore(db.store);
    const controller = new TuningStepController(store, systemClock, (n) =>
      n === def.spec.name ? def.spec : undefined,
    );
    let inFlight = 0;
    let peak = 0;
    const calls: number[] = [];
    const invokeController = async (input: { Payload: Parameters<TuningStepController["handle"]>[0] }) => ({
      Payload: await controller.handle(input.Payload),
    });
    const sm = new StateMachine(compileTuning(def.spec, bindings) as unknown as StateMachineDefinition);
    const exec = sm.run(
      {},
      {
        context: {
          Execution: { Id: "local:branin-sfn:1", Name: "1", Input: {}, StartTime: new Date().toISOString() },
        } as never,
        overrides: {
          taskResourceLocalHandlers: {
            [TUNING_STATE.suggest]: invokeController as never,
            [TUNING_STATE.record]: invokeController as never,
            [TUNING_STATE.finish]: invokeController as never,
            [TUNING_STATE.trial]: (async (input: {
              Payload: { trial: { number: number; attempt: number; params: Record<string, number> } };
            }) => {
              const { number, attempt, params } = input.Payload.trial;
              calls.push(number);
              inFlight++;
              peak = Math.max(peak, inFlight);
              await new Promise((r) => setTimeout(r, 5));
              inFlight--;
              if (number === 4 && attempt === 1) throw new Error("spot instance reclaimed");
              return { Payload: { metrics: { loss: branin.f(params) } } };
            }) as never,
          },
        },
      },
    );
    const out = (await exec.result) as { status: string; best: { number: number; value: number } };
    const trials = await store.trials(def.spec.name);
    expect(out.status).toBe("SUCCEEDED");
    expect(trials.map((t) => t.number)).toEqual([...Array(12).keys()]);
    expect(trials.every((t) => t.status === "COMPLETED")).toBe(true);
    expect(trials[4].attempts).toBe(2);
    expect(calls.filter((n) => n === 4)).toHaveLength(2);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    expect(out.best.value).toBe(Math.min(...trials.map((t) => t.value!)));
    expect((await store.get(def.spec.name)).status).toBe("SUCCEEDED");
  });
});
