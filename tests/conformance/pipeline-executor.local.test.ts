import { LocalPipelineExecutor } from "@keel/pipelines";
import { localMachines } from "../pipelines/machines";
import { pipelineExecutorSuite } from "./pipeline-executor.suite";

pipelineExecutorSuite("in-process ASL runner", async (pipelines) => {
  const machines = localMachines(pipelines);
  return {
    executor: new LocalPipelineExecutor({ resolve: (p) => machines.get(p), retryIntervalMs: 0 }),
    close: async () => machines.close(),
  };
});
