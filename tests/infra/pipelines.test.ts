import { readFileSync } from "node:fs";
import path from "node:path";
import type { Template } from "aws-cdk-lib/assertions";
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { Features } from "../../stacks/Features";
import { Network } from "../../stacks/Network";
import { Pipelines } from "../../stacks/Pipelines";
import { Storage } from "../../stacks/Storage";
import {
  expectNoNagErrors,
  iamViolations,
  resourcesOf,
  type Synthesized,
  staticImports,
  synthStacks,
} from "./synth";

let out: Synthesized;
let t: Template;
beforeAll(async () => {
  out = await synthStacks([Network, Storage, Features, Pipelines], { stage: "infra-pipelines" });
  t = out.templates.Pipelines;
});

interface AslJson {
  StartAt: string;
  States: Record<string, { Type: string; Resource?: string; Parameters?: Record<string, unknown> }>;
}
const definitionOf = (machine: {
  DefinitionString: string;
  DefinitionSubstitutions: Record<string, unknown>;
}) => ({
  json: JSON.parse(machine.DefinitionString) as AslJson,
  substitutions: machine.DefinitionSubstitutions,
});
/** Definition substitution placeholders as the template carries them. */
const placeholder = (name: string) => `$\{${name}}`;

describe("Pipelines stack", () => {
  it("deploys the example pipeline as a named state machine compiled from its TypeScript, with logging and tracing", () => {
    const [machine] = resourcesOf(t, "AWS::StepFunctions::StateMachine");
    expect(machine.StateMachineName).toBe("keel-infra-pipelines-train-fraud");
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
    expect(machine.LoggingConfiguration).toMatchObject({ Level: "ALL", IncludeExecutionData: true });
    const { json, substitutions } = definitionOf(machine);
    expect(json.StartAt).toBe("keel.validate");
    expect(json.States["keel.validate"].Resource).toBe(placeholder("StepFunctionArn"));
    expect(json.States.train.Resource).toBe("arn:aws:states:::sagemaker:createTrainingJob.sync");
    expect(json.States.train.Parameters?.RoleArn).toBe(placeholder("SageMakerRoleArn"));
    expect(json.States.tune.Type).toBe("Map");
    expect(Object.keys(substitutions).sort()).toEqual([
      "ArtifactS3Uri",
      "SageMakerRoleArn",
      "StepFunctionArn",
    ]);
  });

  it("gives the pipeline its step Lambda, bundled with nothing it would miss at cold start", () => {
    const fn = resourcesOf(t, "AWS::Lambda::Function").find(
      (f) => f.Handler === "functions/pipeline-step.handler",
    );
    expect(fn).toMatchObject({ Runtime: "nodejs22.x", Timeout: 900 });
    const bundle = path.join(out.bundles["functions/pipeline-step.handler"], "functions/pipeline-step.mjs");
    expect(staticImports(bundle)).toEqual([]);
    // The project's pipelines entry (named at deploy) is bundled in place of `@keel-project/pipelines`.
    const code = readFileSync(bundle, "utf8");
    expect(code).toContain('name: "train-fraud"');
    expect(code).not.toContain("@keel-project/pipelines");
  });

  it("limits the state machine role to its Lambda, training jobs, its own SageMaker role and the .sync rule", () => {
    const statements = resourcesOf(t, "AWS::IAM::Policy")
      .filter((p) => JSON.stringify(p.Roles).includes("TrainFraudStateMachineRole"))
      .flatMap((p) => p.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        "lambda:InvokeFunction",
        "sagemaker:CreateTrainingJob",
        "iam:PassRole",
        "events:PutRule",
      ]),
    );
    const pass = statements.find((s) => s.Action === "iam:PassRole");
    expect(pass.Condition).toEqual({ StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } });
    expect(JSON.stringify(pass.Resource)).toContain("TrainFraudSageMakerRole");
    const training = statements.find((s) => [s.Action].flat().includes("sagemaker:CreateTrainingJob"));
    expect(JSON.stringify(training.Resource)).toContain(":training-job/*");
    t.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: "sagemaker.amazonaws.com" } })],
      },
    });
  });

  it("lets training jobs write only under the pipeline's artifact prefix", () => {
    const statements = resourcesOf(t, "AWS::IAM::Policy")
      .filter((p) => JSON.stringify(p.Roles).includes("TrainFraudSageMakerRole"))
      .flatMap((p) => p.PolicyDocument.Statement);
    const put = statements.find((s) => s.Action === "s3:PutObject");
    expect(JSON.stringify(put.Resource)).toContain("/artifacts/pipelines/train-fraud/*");
  });

  it("schedules the pipeline with EventBridge Scheduler, passing the scheduled time", () => {
    t.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(0 3 * * ? *)",
      Target: Match.objectLike({
        Input: JSON.stringify({ params: {}, scheduledTime: "<aws.scheduler.scheduled-time>" }),
        RetryPolicy: { MaximumRetryAttempts: 2 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    });
  });

  it("grants no wildcard actions and no data action on '*' (log delivery and X-Ray aside)", () => {
    // CloudWatch Logs vended delivery and X-Ray sampling have no resource-level permissions.
    const resourceless =
      /^(logs:(Create|Get|Update|Delete|List)LogDeliver|logs:(PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)|xray:)/;
    const found = iamViolations(out).filter(
      (v) =>
        ![(v.statement as { Action: string | string[] }).Action]
          .flat()
          .every((a: string) => resourceless.test(a)),
    );
    expect(found).toEqual([]);
  });

  it("passes cdk-nag AwsSolutions with a reason for every suppression", () => {
    expectNoNagErrors(out);
  });
});
