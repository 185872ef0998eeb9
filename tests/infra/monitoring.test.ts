import { ENV } from "@keel/core";
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { Features } from "../../stacks/Features";
import { Monitoring } from "../../stacks/Monitoring";
import { Network } from "../../stacks/Network";
import { Storage } from "../../stacks/Storage";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

const out = synthOnce([Network, Storage, Features, Monitoring], {
  stage: "infra-monitoring",
  config: { driftSchedule: "cron(0 6 * * ? *)" },
});
const t = () => out.templates.Monitoring;

describe("Monitoring stack", () => {
  it("runs the drift job on the stage's schedule with retries and a dead-letter queue", () => {
    t().hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(0 6 * * ? *)",
      Target: {
        Arn: Match.anyValue(),
        RetryPolicy: { MaximumRetryAttempts: 2 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      },
    });
    const fn = resourcesOf(t(), "AWS::Lambda::Function").find((f) => f.Handler === "functions/drift.handler");
    expect(fn).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"], Timeout: 900 });
    expect(fn.Environment.Variables).toHaveProperty(ENV.ARTIFACT_ROOT);
    expect(JSON.stringify(fn.Environment.Variables[ENV.PREDICTION_LOG_ROOT])).toContain(
      "/artifacts/predictions/",
    );
  });

  it("keeps the prediction log on the artifact bucket with its own lifecycle", () => {
    out.templates.Storage.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: "artifacts/predictions/",
            Transitions: [{ StorageClass: "STANDARD_IA", TransitionInDays: 30 }],
          }),
        ]),
      },
    });
  });

  it("grants the drift job only the artifact store prefix and item-level table access", () => {
    const statements = resourcesOf(t(), "AWS::IAM::Policy")
      .filter((p) => JSON.stringify(p.Roles).includes("DriftFn"))
      .flatMap((p) => p.PolicyDocument.Statement);
    for (const s of statements.filter((s) =>
      [s.Action].flat().some((a: string) => a.startsWith("s3:") && a !== "s3:ListBucket"),
    )) {
      expect(JSON.stringify(s.Resource)).toContain("/artifacts/*");
    }
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContain("dynamodb:Scan");
  });

  itPassesSecurityChecks(out);
});
