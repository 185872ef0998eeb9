import {
  definePipeline,
  type ExecutionEvent,
  type PipelineDefinition,
  type PipelineExecutor,
  StepFailure,
} from "@keel/pipelines";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

/**
 * The PipelineExecutor conformance suite. Every adapter runs it: the in-process runner for
 * real, the Step Functions adapter through @aws-sdk/client-sfn against a stand-in that
 * answers in Step Functions' own request/response shapes.
 */
export interface ExecutorUnderTest {
  executor: PipelineExecutor;
  close(): Promise<void>;
}

const gate = { release: () => {}, attempts: 0 };

export const CONFORMANCE_PIPELINES: PipelineDefinition[] = [
  definePipeline({
    name: "conf-ok",
    params: z.object({ n: z.number().default(1) }),
    steps: [
      { name: "a", kind: "lambda", handler: (ctx) => ({ n: ctx.params.n + 1 }) },
      {
        name: "b",
        kind: "lambda",
        dependsOn: ["a"],
        handler: (ctx) => ({ n: (ctx.inputs.a as { n: number }).n * 10 }),
      },
      {
        name: "m",
        kind: "map",
        over: "c.items",
        maxConcurrency: 2,
        retry: { maxAttempts: 2, intervalSeconds: 1, backoffRate: 1 },
        run: {
          kind: "lambda",
          handler: (ctx) => {
            if (ctx.index === 1 && gate.attempts++ === 0)
              throw new StepFailure("Keel.Flaky", "first attempt of element 1 fails");
            return { twice: (ctx.item as number) * 2 };
          },
        },
      },
      { name: "c", kind: "lambda", handler: () => ({ items: [1, 2, 3] }) },
    ],
  }),
  definePipeline({
    name: "conf-fail",
    params: z.object({}),
    steps: [
      {
        name: "boom",
        kind: "lambda",
        handler: () => Promise.reject(new StepFailure("Keel.Boom", "the step exploded")),
      },
    ],
  }),
  definePipeline({
    name: "conf-slow",
    params: z.object({}),
    steps: [
      {
        name: "wait",
        kind: "lambda",
        handler: () => new Promise((resolve) => (gate.release = () => resolve({ released: true }))),
      },
    ],
  }),
];

async function finish(executor: PipelineExecutor, id: string): Promise<ExecutionEvent[]> {
  const events: ExecutionEvent[] = [];
  for (let i = 0; i < 200; i++) {
    const got = await executor.history(id, { after: events.at(-1)?.seq ?? 0, waitMs: 1000 });
    events.push(...got);
    if (events.some((e) => e.type.startsWith("Execution") && e.type !== "ExecutionStarted")) return events;
  }
  throw new Error(`execution ${id} did not finish`);
}

export function pipelineExecutorSuite(
  name: string,
  factory: (pipelines: PipelineDefinition[]) => Promise<ExecutorUnderTest>,
) {
  describe(`PipelineExecutor conformance: ${name}`, () => {
    let ut: ExecutorUnderTest;
    beforeAll(async () => {
      ut = await factory(CONFORMANCE_PIPELINES);
    });
    afterAll(async () => ut?.close());

    it("runs an execution to SUCCEEDED with gap-free, ordered history and the final output", async () => {
      const { executionId } = await ut.executor.start({
        pipeline: "conf-ok",
        name: "ok-1",
        input: { params: { n: 4 } },
      });
      const events = await finish(ut.executor, executionId);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events[0].type).toBe("ExecutionStarted");
      expect(events.at(-1)?.type).toBe("ExecutionSucceeded");
      const at = (type: string, state: string) =>
        events.findIndex((e) => e.type === type && e.state === state);
      expect(at("StateExited", "a")).toBeGreaterThan(at("StateEntered", "a"));
      expect(at("StateEntered", "b")).toBeGreaterThan(at("StateExited", "a"));
      const d = await ut.executor.describe(executionId);
      expect(d).toMatchObject({ status: "SUCCEEDED", pipeline: "conf-ok", name: "ok-1" });
      expect(d.output).toMatchObject({
        runId: "ok-1",
        steps: { a: { n: 5 }, b: { n: 50 }, m: { results: [{ twice: 2 }, { twice: 4 }, { twice: 6 }] } },
      });
    });

    it("reports retries with the state and map element they happened in", async () => {
      const { executionId } = await ut.executor.start({
        pipeline: "conf-ok",
        name: "ok-1",
        input: { params: { n: 4 } },
      });
      const events = await ut.executor.history(executionId);
      const retried = events.filter((e) => e.type === "StateRetried");
      expect(retried).toEqual([expect.objectContaining({ state: "m.item", index: 1, attempt: 1 })]);
      const failed = events.filter((e) => e.type === "StateFailed");
      expect(failed).toEqual([expect.objectContaining({ state: "m.item", index: 1, error: "Keel.Flaky" })]);
    });

    it("is idempotent on the execution name, and refuses the name with another input", async () => {
      const again = await ut.executor.start({
        pipeline: "conf-ok",
        name: "ok-1",
        input: { params: { n: 4 } },
      });
      const first = await ut.executor.describe(again.executionId);
      expect(first.name).toBe("ok-1");
      await expect(
        ut.executor.start({ pipeline: "conf-ok", name: "ok-1", input: { params: { n: 5 } } }),
      ).rejects.toMatchObject({
        code: "RESOURCE_ALREADY_EXISTS",
      });
    });

    it("fails an execution with the step's error name and cause", async () => {
      const { executionId } = await ut.executor.start({ pipeline: "conf-fail", name: "fail-1", input: {} });
      const events = await finish(ut.executor, executionId);
      expect(events.at(-1)).toMatchObject({ type: "ExecutionFailed", error: "Keel.Boom" });
      expect(events.find((e) => e.type === "StateFailed")).toMatchObject({
        state: "boom",
        error: "Keel.Boom",
      });
      const d = await ut.executor.describe(executionId);
      expect(d.status).toBe("FAILED");
      expect(d.error).toBe("Keel.Boom");
      expect(d.cause).toContain("the step exploded");
    });

    it("stops a running execution as ABORTED; stopping again changes nothing", async () => {
      const { executionId } = await ut.executor.start({ pipeline: "conf-slow", name: "slow-1", input: {} });
      for (let i = 0; i < 50; i++) {
        const evs = await ut.executor.history(executionId, { waitMs: 200 });
        if (evs.some((e) => e.type === "StateEntered" && e.state === "wait")) break;
      }
      await ut.executor.stop(executionId, { error: "Keel.Stopped", cause: "test" });
      await ut.executor.stop(executionId);
      gate.release();
      const events = await finish(ut.executor, executionId);
      expect(events.at(-1)?.type).toBe("ExecutionAborted");
      expect((await ut.executor.describe(executionId)).status).toBe("ABORTED");
    });

    it("answers RESOURCE_DOES_NOT_EXIST for unknown executions and pipelines", async () => {
      const { executionId } = await ut.executor.start({ pipeline: "conf-fail", name: "fail-2", input: {} });
      await expect(ut.executor.describe(`${executionId}x`)).rejects.toMatchObject({
        code: "RESOURCE_DOES_NOT_EXIST",
      });
      await expect(ut.executor.start({ pipeline: "nope", name: "x", input: {} })).rejects.toMatchObject({
        code: "RESOURCE_DOES_NOT_EXIST",
      });
    });
  });
}
