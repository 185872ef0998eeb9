import { StepFunctionsPipelineExecutor } from "@keel/pipelines";
import { expect, it } from "vitest";
import { fakeStepFunctions, type RecordedRequest } from "../pipelines/fake-stepfunctions";
import { localMachines } from "../pipelines/machines";
import { pipelineExecutorSuite } from "./pipeline-executor.suite";

let requests: RecordedRequest[] = [];

pipelineExecutorSuite("Step Functions (client-sfn against a stand-in)", async (pipelines) => {
  const machines = localMachines(pipelines);
  const fake = fakeStepFunctions({
    stage: "conf",
    machines: (p) => machines.get(p),
    names: pipelines.map((p) => p.name),
  });
  requests = fake.requests;
  return {
    executor: new StepFunctionsPipelineExecutor({ client: fake.client, stage: "conf", pollMs: 10 }),
    close: async () => machines.close(),
  };
});

it("sends Step Functions the request shapes its API defines", () => {
  const by = (op: string) => requests.filter((r) => r.target === `AWSStepFunctions.${op}`).map((r) => r.body);
  expect(by("ListStateMachines")[0]).toEqual({ maxResults: 1000 });
  expect(by("StartExecution")[0]).toEqual({
    stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:keel-conf-conf-ok",
    name: "ok-1",
    input: JSON.stringify({ params: { n: 4 } }),
  });
  expect(by("DescribeExecution")[0]).toEqual({
    executionArn: "arn:aws:states:us-east-1:123456789012:execution:keel-conf-conf-ok:ok-1",
  });
  expect(by("GetExecutionHistory")[0]).toEqual({
    executionArn: "arn:aws:states:us-east-1:123456789012:execution:keel-conf-conf-ok:ok-1",
    maxResults: 1000,
    includeExecutionData: true,
  });
  expect(by("StopExecution")[0]).toEqual({
    executionArn: "arn:aws:states:us-east-1:123456789012:execution:keel-conf-conf-slow:slow-1",
    error: "Keel.Stopped",
    cause: "test",
  });
});
