import {
  AUDIT_METRICS_NAMESPACE,
  AUDIT_PK,
  EXPORT_GAPS_METRIC,
  ITEMS_CHANGED_METRIC,
  RECONCILE_CURSOR_KEY,
} from "@keel/audit";
import { createTableInput } from "@keel/metadata";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { FilterCriteria, FilterRule, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketProps,
  ObjectLockRetention,
  ObjectOwnership,
  StorageClass,
} from "aws-cdk-lib/aws-s3";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { StackContext } from "sst/constructs";
import { removalPolicy } from "./app";
import { ENV } from "./env";
import { grantAuditPut, grantKey, grantTable, keelFunction, scheduleFunction } from "./functions";
import { resourceEndingWith, suppress } from "./nag";
import { stageSettings } from "./settings";

/**
 * Bucket prefixes other stacks and the domain agree on. `artifacts/` is the ArtifactStore's
 * root (KEEL_ARTIFACT_ROOT): MLflow artifacts, drift baselines and reports, and the prediction
 * log, which the monitoring package keeps under its own `predictions/` inside that store.
 */
/** The prediction log's expiry: @keel/serving's MAX_RETENTION_DAYS, the longest `retention_days` a deployment may set. */
export const PREDICTION_LOG_EXPIRY_DAYS = 365;

export const PREFIX = {
  artifacts: "artifacts/",
  predictions: "artifacts/predictions/",
  offline: "offline/",
  /** The Triton model repository the GPU nodes sync: <model>/config.pbtxt, <model>/<version>/. */
  models: "models/",
  /** LLM weights (`llm/models/<name>/`) and LoRA adapters (`llm/adapters/<name>/`) the vLLM pools sync. */
  llmModels: "llm/models/",
  llmAdapters: "llm/adapters/",
  /** The gateway's usage log as Parquet, for analysis (Athena). */
  llmUsage: "llm/usage/",
  athenaResults: "athena-results/",
  /** Knowledge bases' LanceDB tables (`KEEL_RAG_ROOT`), read and written straight from Lambda. */
  rag: "rag/",
} as const;

/**
 * The platform's data: the single DynamoDB table (keys taken from the metadata package's
 * own schema, so the two cannot drift), the artifact bucket, and the audit export bucket
 * under Object Lock in COMPLIANCE mode fed from the table's stream.
 */
export function Storage({ stack, app }: StackContext) {
  const settings = stageSettings(app);
  const removal = removalPolicy(settings);
  const key = new Key(stack, "DataKey", {
    enableKeyRotation: true,
    description: `Keel ${app.stage}: table, buckets and queues`,
    removalPolicy: removal,
  });

  const schema = createTableInput("keel");
  const keyOf = (type: "HASH" | "RANGE", ks = schema.KeySchema ?? []) => {
    const name = ks.find((k) => k.KeyType === type)?.AttributeName;
    if (!name) throw new Error(`createTableInput has no ${type} key`);
    return { name, type: AttributeType.STRING };
  };
  const table = new Table(stack, "Table", {
    partitionKey: keyOf("HASH"),
    sortKey: keyOf("RANGE"),
    billingMode: BillingMode.PAY_PER_REQUEST,
    encryption: TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // NEW_IMAGE is all the audit export needs; old images would only add cost.
    stream: StreamViewType.NEW_IMAGE,
    deletionProtection: settings.removal === "retain",
    removalPolicy: removal,
  });
  for (const gsi of schema.GlobalSecondaryIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: gsi.IndexName ?? "",
      partitionKey: keyOf("HASH", gsi.KeySchema),
      sortKey: keyOf("RANGE", gsi.KeySchema),
    });
  }

  const destroyable = settings.removal === "destroy";
  const secure = {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: removal,
  } satisfies BucketProps;

  const accessLogs = new Bucket(stack, "AccessLogs", {
    ...secure,
    // Server access log delivery only writes to SSE-S3 buckets.
    encryption: BucketEncryption.S3_MANAGED,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
    versioned: true,
    autoDeleteObjects: destroyable,
    lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
  });
  suppress(accessLogs, [
    ["AwsSolutions-S1", "This is the server access log target; logging it to itself would loop."],
  ]);

  const bucket = new Bucket(stack, "Artifacts", {
    ...secure,
    encryption: BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    versioned: true,
    autoDeleteObjects: destroyable,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: "artifacts/",
    lifecycleRules: [
      // The prediction log is read by drift jobs for weeks, then kept cheaply for audits, and
      // expires at the longest retention a deployment may choose (personal data is not kept forever).
      {
        prefix: PREFIX.predictions,
        transitions: [{ storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }],
        expiration: Duration.days(PREDICTION_LOG_EXPIRY_DAYS),
        noncurrentVersionExpiration: Duration.days(1),
      },
      { prefix: PREFIX.athenaResults, expiration: Duration.days(7) },
      {
        noncurrentVersionExpiration: Duration.days(90),
        abortIncompleteMultipartUploadAfter: Duration.days(2),
      },
    ],
  });

  const auditBucket = new Bucket(stack, "AuditExport", {
    ...secure,
    // Locked objects cannot be deleted before their retention ends, so neither can the bucket:
    // removing a stage leaves it behind instead of failing.
    removalPolicy: RemovalPolicy.RETAIN,
    encryption: BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    versioned: true,
    objectLockEnabled: true,
    objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(settings.auditRetentionDays)),
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: "audit-export/",
  });

  const exportDlq = new Queue(stack, "AuditExportDlq", {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  suppress(exportDlq, [
    ["AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the audit export."],
  ]);

  const auditExport = keelFunction(stack, "AuditExportFn", {
    handler: "functions/audit-export.handler",
    description: "Copies audit events from the table stream to the Object Lock bucket",
    environment: { [ENV.AUDIT_EXPORT_BUCKET]: auditBucket.bucketName },
  });
  // Put only: the exporter can neither read back, overwrite-delete nor change retention.
  auditExport.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["s3:PutObject"],
      resources: [auditBucket.arnForObjects("audit/*")],
    }),
  );
  grantKey(auditExport, key, "readwrite");
  suppress(auditExport, [
    [
      "AwsSolutions-IAM5",
      "Audit object keys (audit/<seq>.json) are created per event; the grant is PutObject under audit/ only.",
      [resourceEndingWith("/audit/*")],
    ],
    [
      "AwsSolutions-IAM5",
      "Sending failed batches to the KMS-encrypted DLQ needs the data key's GenerateDataKey*/ReEncrypt* (CDK's SQS grant), scoped to that one key.",
      ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
    ],
  ]);
  auditExport.addEventSource(
    new DynamoEventSource(table, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      bisectBatchOnError: true,
      retryAttempts: 10,
      onFailure: new SqsDlq(exportDlq),
      // Only audit items reach the function: the stream carries every write to the table.
      // Inserts are exported; a modify or remove of an audit item is reported as tampering.
      filters: [
        FilterCriteria.filter({
          eventName: FilterRule.or("INSERT", "MODIFY", "REMOVE"),
          dynamodb: { Keys: { pk: { S: FilterRule.isEqual(AUDIT_PK) } } },
        }),
      ],
    }),
  );

  // The gap check: hourly, whatever the stream delivered, copy what the bucket lacks.
  const reconcile = keelFunction(stack, "AuditReconcileFn", {
    handler: "functions/audit-reconcile.handler",
    description: "Hourly gap check of the audit export: copies events missing from the Object Lock bucket",
    timeout: 900,
    environment: {
      [ENV.STAGE]: app.stage,
      [ENV.TABLE]: table.tableName,
      [ENV.AUDIT_EXPORT_BUCKET]: auditBucket.bucketName,
    },
  });
  // Reads the trail; writes only its own cursor (PutItem under AUDIT_EXPORT), never the trail.
  grantTable(reconcile, table, key, "read");
  grantAuditPut(reconcile, table, RECONCILE_CURSOR_KEY.pk);
  reconcile.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["s3:PutObject"],
      resources: [auditBucket.arnForObjects("audit/*")],
    }),
  );
  reconcile.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["s3:ListBucket"],
      resources: [auditBucket.bucketArn],
      conditions: { StringLike: { "s3:prefix": ["audit/*"] } },
    }),
  );
  grantKey(reconcile, key, "readwrite");
  suppress(reconcile, [
    [
      "AwsSolutions-IAM5",
      "Audit object keys (audit/<seq>.json) are created per event; the grant is PutObject under audit/ only.",
      [resourceEndingWith("/audit/*")],
    ],
  ]);
  scheduleFunction(stack, "AuditReconcileSchedule", reconcile, {
    expression: "rate(1 hour)",
    description: "Runs the audit export gap check",
    deadLetterQueue: exportDlq,
    maxEventAge: Duration.hours(1),
  });
  const auditMetric = (metricName: string) =>
    new Metric({
      namespace: AUDIT_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { Stage: app.stage },
      statistic: "Sum",
      period: Duration.hours(1),
    });
  for (const [id, metricName, what] of [
    ["AuditExportGapsAlarm", EXPORT_GAPS_METRIC, "events were missing from the Object Lock export"],
    ["AuditItemsChangedAlarm", ITEMS_CHANGED_METRIC, "audit items were overwritten or removed in the table"],
  ] as const) {
    new Alarm(stack, id, {
      metric: auditMetric(metricName),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `Keel ${app.stage}: ${what} (the function's log names the sequence numbers)`,
    });
  }

  stack.addOutputs({
    TableName: table.tableName,
    ArtifactBucket: bucket.bucketName,
    AuditExportBucket: auditBucket.bucketName,
  });
  return { key, table, bucket, auditBucket, accessLogs };
}
