import { createTableInput } from "@keel/metadata";
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { Network } from "../../stacks/Network";
import { Storage } from "../../stacks/Storage";
import { itKeepsTheAuditPartitionAppendOnly } from "./audit-iam";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

const out = synthOnce([Network, Storage], {
  stage: "infra-storage",
  config: { auditRetentionDays: 2557, removal: "retain" },
});
const t = () => out.templates.Storage;

describe("Storage stack", () => {
  it("declares exactly the keys and indexes of the metadata package's createTableInput", () => {
    const want = createTableInput("ignored");
    const [table] = resourcesOf(t(), "AWS::DynamoDB::Table");
    const sortByName = <T extends { AttributeName?: string }>(xs: T[]) =>
      [...xs].sort((a, b) => String(a.AttributeName).localeCompare(String(b.AttributeName)));
    expect(table.KeySchema).toEqual(want.KeySchema);
    expect(sortByName(table.AttributeDefinitions)).toEqual(sortByName(want.AttributeDefinitions ?? []));
    expect(table.GlobalSecondaryIndexes).toEqual(want.GlobalSecondaryIndexes);
    expect(table.BillingMode).toBe(want.BillingMode);
  });

  it("keeps the table recoverable, KMS-encrypted and streaming new images", () => {
    t().hasResourceProperties("AWS::DynamoDB::Table", {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: Match.anyValue() },
      StreamSpecification: { StreamViewType: "NEW_IMAGE" },
      DeletionProtectionEnabled: true,
    });
    t().hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Retain" });
    t().hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
  });

  it("makes every bucket private, encrypted, versioned and TLS-only", () => {
    const buckets = t().findResources("AWS::S3::Bucket");
    expect(Object.keys(buckets)).toHaveLength(3);
    for (const [id, b] of Object.entries(buckets)) {
      const p = b.Properties;
      expect(p.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(
        p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm,
        id,
      ).toMatch(/aws:kms|AES256/);
      expect(p.VersioningConfiguration, id).toEqual({ Status: "Enabled" });
      const policy = Object.values(t().findResources("AWS::S3::BucketPolicy")).find(
        (bp) => bp.Properties.Bucket.Ref === id,
      );
      expect(policy?.Properties.PolicyDocument.Statement, id).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Action: "s3:*",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      );
    }
  });

  it("encrypts artifacts with the stage's KMS key and logs access to the log bucket", () => {
    t().hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: Match.anyValue() },
            BucketKeyEnabled: true,
          },
        ],
      },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: "artifacts/" },
    });
  });

  it("locks the audit export in COMPLIANCE mode for the stage's retention", () => {
    t().hasResourceProperties("AWS::S3::Bucket", {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: "Enabled",
        Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 2557 } },
      },
    });
  });

  it("feeds the audit export from the table stream, audit items only, with a DLQ", () => {
    t().hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^Table"), "StreamArn"] },
      StartingPosition: "TRIM_HORIZON",
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ["INSERT", "MODIFY", "REMOVE"],
              dynamodb: { Keys: { pk: { S: ["AUDIT"] } } },
            }),
          },
        ],
      },
    });
    const fn = resourcesOf(t(), "AWS::Lambda::Function").find(
      (f) => f.Handler === "functions/audit-export.handler",
    );
    expect(fn).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"] });
    expect(Object.keys(fn?.Environment.Variables ?? {})).toContain("KEEL_AUDIT_EXPORT_BUCKET");
  });

  it("lets the exporter only put objects under audit/ (no read, delete or retention changes)", () => {
    const statements = resourcesOf(t(), "AWS::IAM::Policy")
      .filter((p) => JSON.stringify(p.Roles).includes("AuditExportFn"))
      .flatMap((p) => p.PolicyDocument.Statement);
    const s3 = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith("s3:")));
    expect(s3).toEqual([expect.objectContaining({ Action: "s3:PutObject" })]);
    expect(JSON.stringify(s3[0].Resource)).toContain("/audit/*");
  });

  it("runs the audit export's gap check hourly on a schedule that targets its function", () => {
    const fns = t().findResources("AWS::Lambda::Function");
    const [fnId] = Object.entries(fns).find(
      ([, f]) => f.Properties.Handler === "functions/audit-reconcile.handler",
    ) ?? [undefined];
    expect(fnId).toBeDefined();
    const schedules = resourcesOf(t(), "AWS::Scheduler::Schedule").filter(
      (s) => JSON.stringify(s.Target.Arn) === JSON.stringify({ "Fn::GetAtt": [fnId, "Arn"] }),
    );
    expect(schedules).toEqual([
      expect.objectContaining({
        ScheduleExpression: "rate(1 hour)",
        State: "ENABLED",
        Target: expect.objectContaining({ DeadLetterConfig: { Arn: expect.anything() } }),
      }),
    ]);
    const env = fns[fnId as string].Properties.Environment.Variables;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(["KEEL_TABLE", "KEEL_STAGE", "KEEL_AUDIT_EXPORT_BUCKET"]),
    );
  });

  it("lets the gap check list and put under audit/ only (no read-back, delete or retention change)", () => {
    const statements = resourcesOf(t(), "AWS::IAM::Policy")
      .filter((p) => JSON.stringify(p.Roles).includes("AuditReconcileFn"))
      .flatMap((p) => p.PolicyDocument.Statement);
    const s3 = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith("s3:")));
    expect(s3.map((s) => s.Action).sort()).toEqual(["s3:ListBucket", "s3:PutObject"]);
    expect(s3.find((s) => s.Action === "s3:ListBucket").Condition).toEqual({
      StringLike: { "s3:prefix": ["audit/*"] },
    });
  });

  it("alarms on export gaps and on changed audit items", () => {
    for (const metric of ["ExportGaps", "AuditItemsChanged"])
      t().hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "Keel/Audit",
        MetricName: metric,
        Dimensions: [{ Name: "Stage", Value: "infra-storage" }],
        Statistic: "Sum",
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
      });
  });

  itKeepsTheAuditPartitionAppendOnly(out, []);
  itPassesSecurityChecks(out);
});
