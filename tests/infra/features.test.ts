import { ENV } from "@keel/core";
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { Features, ONLINE_TABLE } from "../../stacks/Features";
import { Network } from "../../stacks/Network";
import { Storage } from "../../stacks/Storage";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

const out = synthOnce([Network, Storage, Features], {
  stage: "infra-features",
  config: { materializeSchedule: "rate(15 minutes)" },
});
const t = () => out.templates.Features;

describe("Features stack (Keyspaces)", () => {
  it("creates the stage's keyspace and the online table keyed by (entity_key, feature_view)", () => {
    t().hasResourceProperties("AWS::Cassandra::Keyspace", { KeyspaceName: "keel_infra_features" });
    t().hasResourceProperties("AWS::Cassandra::Table", {
      KeyspaceName: "keel_infra_features",
      TableName: ONLINE_TABLE.name,
      PartitionKeyColumns: [
        { ColumnName: "entity_key", ColumnType: "text" },
        { ColumnName: "feature_view", ColumnType: "text" },
      ],
      RegularColumns: Match.arrayWith([{ ColumnName: "payload", ColumnType: "text" }]),
      ClientSideTimestampsEnabled: true,
      DefaultTimeToLive: ONLINE_TABLE.defaultTtlSeconds,
    });
  });

  it("turns on point-in-time recovery and customer-managed KMS encryption for it", () => {
    t().hasResourceProperties("AWS::Cassandra::Table", {
      PointInTimeRecoveryEnabled: true,
      EncryptionSpecification: {
        EncryptionType: "CUSTOMER_MANAGED_KMS_KEY",
        KmsKeyIdentifier: Match.anyValue(),
      },
      BillingMode: { Mode: "ON_DEMAND" },
    });
  });

  it("reaches Keyspaces privately through a cassandra interface endpoint on 9142", () => {
    t().hasResourceProperties("AWS::EC2::VPCEndpoint", {
      ServiceName: Match.stringLikeRegexp("cassandra"),
      VpcEndpointType: "Interface",
      PrivateDnsEnabled: true,
    });
    t().hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      FromPort: 9142,
      ToPort: 9142,
      IpProtocol: "tcp",
      SourceSecurityGroupId: { "Fn::ImportValue": Match.stringLikeRegexp("LambdaSg") },
    });
  });

  it("catalogues the offline store in Glue and queries it in an Athena workgroup with encrypted results", () => {
    t().hasResourceProperties("AWS::Glue::Database", {
      DatabaseInput: { Name: "keel_infra_features", LocationUri: Match.anyValue() },
    });
    t().hasResourceProperties("AWS::Athena::WorkGroup", {
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: {
          EncryptionConfiguration: { EncryptionOption: "SSE_KMS", KmsKey: Match.anyValue() },
        },
      },
    });
  });

  it("lets the offline store's writers replace a view's Glue table (DeleteTable) in this database only", () => {
    const glue = resourcesOf(t(), "AWS::IAM::Policy")
      .flatMap((p) => p.PolicyDocument.Statement)
      .filter((s) => [s.Action].flat().includes("glue:CreateTable"));
    expect(glue.length).toBeGreaterThan(0);
    for (const s of glue) {
      expect([s.Action].flat()).toEqual(expect.arrayContaining(["glue:DeleteTable", "glue:UpdateTable"]));
      expect([s.Action].flat()).not.toContain("glue:DeleteDatabase");
      expect(JSON.stringify(s.Resource)).toMatch(/table\/keel_infra_features\/\*/);
    }
  });

  it("runs materialization on the stage's schedule with retries and a dead-letter queue", () => {
    t().hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(15 minutes)",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: {
        Arn: Match.anyValue(),
        RetryPolicy: { MaximumRetryAttempts: 2 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      },
    });
    const fn = resourcesOf(t(), "AWS::Lambda::Function").find(
      (f) => f.Handler === "functions/materialize.handler",
    );
    expect(fn).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"], Timeout: 900 });
    const vars = fn.Environment.Variables;
    expect(vars).toMatchObject({
      [ENV.ONLINE_STORE]: "cql",
      [ENV.CQL_KEYSPACE]: "keel_infra_features",
      [ENV.CQL_CONTACT_POINTS]: "cassandra.us-east-1.amazonaws.com",
      [ENV.CQL_LOCAL_DC]: "us-east-1",
      [ENV.CQL_PORT]: "9142",
      [ENV.GLUE_DATABASE]: "keel_infra_features",
    });
    expect(vars[ENV.OFFLINE_ROOT]).toBeDefined();
  });

  it("grants Keyspaces Select/Modify on the online table only", () => {
    const cql = resourcesOf(t(), "AWS::IAM::Policy")
      .flatMap((p) => p.PolicyDocument.Statement)
      .filter((s) => [s.Action].flat().some((a: string) => a.startsWith("cassandra:")));
    const onTable = cql.find((s) => [s.Action].flat().includes("cassandra:Modify"));
    expect(JSON.stringify(onTable.Resource)).toContain(
      `/keyspace/keel_infra_features/table/${ONLINE_TABLE.name}`,
    );
  });

  it("destroys a disposable stage's data but never the locked audit export bucket", () => {
    const storage = out.templates.Storage;
    storage.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Delete" });
    storage.hasResource("AWS::S3::Bucket", {
      DeletionPolicy: "Retain",
      Properties: Match.objectLike({ ObjectLockEnabled: true }),
    });
    expect(resourcesOf(storage, "AWS::S3::Bucket").filter((b) => b.ObjectLockEnabled)).toHaveLength(1);
  });

  itPassesSecurityChecks(out);
});
