import { consolePublicRouteKeys } from "@keel/console";
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { STAGES } from "../../sst.config";
import { ENV, SERVING_METRICS } from "../../stacks/env";
import { keelStacks } from "../../stacks/index";
import { itKeepsTheAuditPartitionAppendOnly } from "./audit-iam";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

/** The whole app exactly as `sst deploy --stage prod` builds it, from sst.config.ts's settings. */
const out = synthOnce(keelStacks, { stage: "prod", config: STAGES.prod });
const t = () => out.templates;

const allResources = () =>
  Object.values(t()).flatMap((tpl) =>
    Object.values(tpl.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>),
  );

describe("the prod stage", () => {
  it("keeps every inline IAM policy under IAM's 10,240-character limit (enforced only at deploy)", () => {
    // Intrinsics are unresolved here, so a resolved ARN can be longer than its token: keep headroom.
    const LIMIT = 10_240 * 0.8;
    const sizes = Object.values(t()).flatMap((tpl) =>
      Object.entries(
        tpl.toJSON().Resources as Record<string, { Type: string; Properties?: { PolicyDocument?: unknown } }>,
      )
        .filter(([, r]) => r.Type === "AWS::IAM::Policy")
        .map(([id, r]) => ({ id, size: JSON.stringify(r.Properties?.PolicyDocument ?? {}).length })),
    );
    expect(sizes.length).toBeGreaterThan(5);
    expect(sizes.filter((p) => p.size > LIMIT)).toEqual([]);
  });

  it("gives every stack a resource (CloudFormation refuses an empty template)", () => {
    for (const [name, tpl] of Object.entries(t()))
      expect(Object.keys(tpl.toJSON().Resources ?? {}).length, name).toBeGreaterThan(0);
  });

  it("synthesizes every stack, each named after the stage", () => {
    expect(Object.keys(t()).sort()).toEqual([
      "Api",
      "Features",
      "Llm",
      "Monitoring",
      "Network",
      "Pipelines",
      "Serving",
      "Storage",
      "Tuning",
    ]);
  });

  it("locks audit exports for seven years in COMPLIANCE mode and retains data on removal", () => {
    t().Storage.hasResourceProperties("AWS::S3::Bucket", {
      ObjectLockConfiguration: {
        ObjectLockEnabled: "Enabled",
        Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 2557 } },
      },
    });
    const data = allResources().filter((r) =>
      ["AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Cassandra::Table"].includes(r.Type),
    );
    expect(data.length).toBeGreaterThan(4);
    for (const r of data) expect(r.DeletionPolicy, r.Type).toBe("Retain");
  });

  it("signs users in with the stage's own Cognito pool (MFA required) when no issuer is configured", () => {
    t().Api.hasResourceProperties("AWS::Cognito::UserPool", { MfaConfiguration: "ON" });
    t().Api.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "JWT",
      JwtConfiguration: {
        Issuer: Match.anyValue(),
        Audience: [{ Ref: Match.stringLikeRegexp("UsersClient") }],
      },
    });
  });

  it("routes inference to the router and everything else to the app, on both APIs", () => {
    const routes = resourcesOf(t().Api, "AWS::ApiGatewayV2::Route")
      .map((r) => `${r.RouteKey} ${r.AuthorizationType}`)
      .sort();
    expect(routes).toEqual(
      [
        "$default AWS_IAM",
        "$default JWT",
        "ANY /v2/{proxy+} AWS_IAM",
        "ANY /v2/{proxy+} JWT",
        // The console's shell, assets, pages and config: public on the user API (tests/infra/console.test.ts).
        ...consolePublicRouteKeys().map((k) => `${k} NONE`),
      ].sort(),
    );
  });

  it("runs Triton on a GPU Auto Scaling group behind an internal NLB, with IMDSv2 and encrypted disks", () => {
    t().Serving.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        InstanceType: "g5.xlarge",
        MetadataOptions: { HttpTokens: "required" },
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
      }),
    });
    const userData = JSON.stringify(
      resourcesOf(t().Serving, "AWS::EC2::LaunchTemplate")[0].LaunchTemplateData.UserData,
    );
    expect(userData).toContain("tritonserver --model-repository=/models");
    expect(userData).toContain("aws s3 sync");
    t().Serving.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      MinSize: "1",
      MaxSize: "8",
      HealthCheckType: "ELB",
    });
    t().Serving.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Type: "network",
      Scheme: "internal",
    });
    t().Serving.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      Port: 8000,
      HealthCheckPath: "/v2/health/ready",
    });
  });

  it("scales the GPU group by target tracking on the router's in-flight requests per instance", () => {
    t().Serving.hasResourceProperties("AWS::AutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingConfiguration: {
        TargetValue: 32,
        CustomizedMetricSpecification: {
          Metrics: Match.arrayWith([
            Match.objectLike({
              Id: "inflight",
              MetricStat: Match.objectLike({
                Metric: Match.objectLike({
                  Namespace: SERVING_METRICS.namespace,
                  MetricName: SERVING_METRICS.inFlight,
                }),
              }),
            }),
            Match.objectLike({ Id: "perInstance", ReturnData: true }),
          ]),
        },
      },
    });
  });

  it("encrypts the scoring queue and its DLQ and consumes it in batches", () => {
    const queues = resourcesOf(t().Serving, "AWS::SQS::Queue");
    expect(queues).toHaveLength(2);
    for (const q of queues) expect(q.KmsMasterKeyId).toBeDefined();
    t().Serving.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
    });
    t().Serving.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("puts the router and the consumer in the VPC, with the queue and metrics settings", () => {
    for (const handler of ["functions/router.handler", "functions/scoring-consumer.handler"]) {
      const fn = resourcesOf(t().Serving, "AWS::Lambda::Function").find((f) => f.Handler === handler);
      expect(fn, handler).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"] });
      expect(fn.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
      expect(fn.Environment.Variables).toHaveProperty(ENV.SCORING_QUEUE_URL);
      expect(fn.Environment.Variables[ENV.METRICS_NAMESPACE]).toBe(SERVING_METRICS.namespace);
    }
  });

  it("runs every function on nodejs22.x arm64", () => {
    const fns = Object.values(t()).flatMap((tpl) => resourcesOf(tpl, "AWS::Lambda::Function"));
    // SST's own deployment helper per stack is the one exception (its runtime is SST's choice).
    const ours = fns.filter((f) => String(f.Handler).startsWith("functions/"));
    expect(ours.map((f) => f.Handler).sort()).toEqual([
      "functions/api.handler",
      "functions/audit-export.handler",
      "functions/audit-reconcile.handler",
      "functions/drift.handler",
      "functions/llm-purge.handler",
      "functions/llm.handler",
      "functions/materialize.handler",
      ...Array(resourcesOf(t().Pipelines, "AWS::StepFunctions::StateMachine").length).fill(
        "functions/pipeline-step.handler",
      ),
      "functions/router.handler",
      "functions/scoring-consumer.handler",
      "functions/tuning-controller.handler",
    ]);
    for (const f of ours)
      expect(f, f.Handler).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"] });
  });

  itKeepsTheAuditPartitionAppendOnly(out, [
    "functions/api.handler",
    "functions/materialize.handler",
    "functions/drift.handler",
    "functions/pipeline-step.handler",
    "functions/router.handler",
    "functions/scoring-consumer.handler",
  ]);
  itPassesSecurityChecks(out);
});
