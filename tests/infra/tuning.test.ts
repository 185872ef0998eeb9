import { readFileSync } from "node:fs";
import path from "node:path";
import { defineTuning, intRange, TUNING_STATE, uniform } from "@keel/tuning";
import { describe, expect, it } from "vitest";
import { training } from "../../examples/pipelines/training";
import { Features } from "../../stacks/Features";
import { Network } from "../../stacks/Network";
import { Pipelines } from "../../stacks/Pipelines";
import { Storage } from "../../stacks/Storage";
import { assertDeployable, Tuning, tuningSources } from "../../stacks/Tuning";
import { itPassesSecurityChecks, resourcesOf, staticImports, synthOnce } from "./synth";

tuningSources.tunings = [
  defineTuning({
    name: "fraud-threshold",
    pipeline: training,
    parameters: { threshold: uniform(0.5, 0.99), rows: intRange(100, 1000) },
    objective: { metric: "evaluate.auc", goal: "maximize" },
    maxTrials: 20,
    parallelTrials: 4,
  }),
];
const out = synthOnce([Network, Storage, Features, Pipelines, Tuning], { stage: "infra-tuning" });
const t = () => out.templates.Tuning;
const controllerFn = () =>
  resourcesOf(t(), "AWS::Lambda::Function").find((f) => f.Handler === "functions/tuning-controller.handler");
const machine = () => resourcesOf(t(), "AWS::StepFunctions::StateMachine")[0];
const statements = () =>
  Object.values(t().findResources("AWS::IAM::Policy")).flatMap((p) => p.Properties.PolicyDocument.Statement);
const actionsOf = (s: { Action: string | string[] }) => [s.Action].flat();

describe("Tuning stack", () => {
  it("deploys one state machine per tuning: Suggest, a Map of parallelTrials pipeline runs, Record, Finish", () => {
    const m = machine();
    expect(m.StateMachineName).toBe("keel-infra-tuning-tune-fraud-threshold");
    const asl = JSON.parse(m.DefinitionString);
    expect(asl.StartAt).toBe(TUNING_STATE.suggest);
    expect(asl.States[TUNING_STATE.trials]).toMatchObject({ Type: "Map", MaxConcurrency: 4 });
    const trial = asl.States[TUNING_STATE.trials].ItemProcessor.States[TUNING_STATE.trial];
    expect(trial.Resource).toBe("arn:aws:states:::states:startExecution.sync:2");
    // The placeholders are filled with the controller and the tuned pipeline's machine.
    expect(Object.keys(m.DefinitionSubstitutions).sort()).toEqual([
      "ControllerFunctionArn",
      "PipelineStateMachineArn",
    ]);
    expect(JSON.stringify(m.DefinitionSubstitutions.PipelineStateMachineArn)).toContain(
      "TrainFraudStateMachine",
    );
    expect(m.TracingConfiguration).toEqual({ Enabled: true });
    expect(m.LoggingConfiguration.Level).toBe("ALL");
  });

  it("runs one stateless controller that reads and writes only the platform table", () => {
    const fn = controllerFn();
    expect(fn).toBeDefined();
    expect(fn.Timeout).toBe(120);
    const controllerPolicies = Object.values(t().findResources("AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes("TuningControllerFn"),
    );
    const actions = controllerPolicies.flatMap((p) =>
      p.Properties.PolicyDocument.Statement.flatMap(actionsOf),
    );
    expect(actions.some((a) => a.startsWith("dynamodb:"))).toBe(true);
    expect(actions.filter((a) => /^(s3|states|sagemaker|lambda):/.test(a))).toEqual([]);
  });

  it("lets a tuning start, watch and stop runs of its one pipeline and invoke its controller, nothing more", () => {
    const start = statements().find((s) => actionsOf(s).includes("states:StartExecution"));
    expect(JSON.stringify(start.Resource)).toContain("TrainFraudStateMachine");
    const watch = statements().find((s) => actionsOf(s).includes("states:DescribeExecution"));
    expect(watch.Resource).toBe(
      "arn:aws:states:us-east-1:123456789012:execution:keel-infra-tuning-train-fraud:*",
    );
    const invoke = statements().filter((s) => actionsOf(s).includes("lambda:InvokeFunction"));
    expect(JSON.stringify(invoke)).toContain("TuningControllerFn");
    expect(JSON.stringify(invoke)).not.toContain("StepFn");
  });

  it("bundles the controller with the project's tunings and no absent module at cold start", () => {
    const bundle = path.join(
      out.bundles["functions/tuning-controller.handler"],
      "functions/tuning-controller.mjs",
    );
    // The project entry is bundled in place of @keel-project/pipelines (its tunings are its exports).
    expect(readFileSync(bundle, "utf8")).toContain('name: "train-fraud"');
    expect(staticImports(bundle)).toEqual([]);
  });

  itPassesSecurityChecks(out);
});

describe("tunings without an AWS form", () => {
  it("are refused at synthesis, naming the tuning", () => {
    const inProcess = defineTuning({
      name: "local-only",
      run: () => ({ loss: 1 }),
      parameters: { x: uniform(0, 1) },
      objective: { metric: "loss", goal: "minimize" },
      maxTrials: 2,
    });
    expect(() => assertDeployable([inProcess], ["train-fraud"])).toThrow(
      /tuning "local-only" runs its trials in-process \(function\)/,
    );
    expect(() => assertDeployable(tuningSources.tunings, [])).toThrow(
      /tuning "fraud-threshold" tunes pipeline "train-fraud", which this project does not register/,
    );
    expect(() => assertDeployable(tuningSources.tunings, ["train-fraud"])).not.toThrow();
  });
});
