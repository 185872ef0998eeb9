import { AUDIT_PK, AUDIT_PK_PATTERN } from "@keel/audit";
import { ENV } from "@keel/core";
import type { Duration } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Effect, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { Schedule, ScheduleExpression, ScheduleTargetInput, TimeWindow } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { type FunctionProps, Function as SstFunction } from "sst/constructs";
import { resourceEndingWith, suppress } from "./nag";

/**
 * A Lambda function with the platform defaults (nodejs22.x, arm64, X-Ray, externals from
 * configureApp) and the cdk-nag findings every Keel function shares, each with its reason.
 */
export function keelFunction(
  scope: Construct,
  id: string,
  props: FunctionProps & { handler: string },
): SstFunction {
  const fn = new SstFunction(scope, id, props);
  suppress(fn, [
    [
      "AwsSolutions-IAM4",
      "AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs; VPC functions also need AWSLambdaVPCAccessExecutionRole to manage their ENIs.",
      [
        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
      ],
    ],
    [
      "AwsSolutions-L1",
      "Keel pins nodejs22.x (the current Node LTS, the version the code is tested on); nodejs24.x is adopted deliberately, not by default.",
    ],
    [
      "AwsSolutions-IAM5",
      "X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions (Resource '*'); tests/infra checks no data action is granted on '*'.",
      ["Resource::*"],
    ],
  ]);
  return fn;
}

/** The variables every function that touches platform data gets, named by `@keel/core` ENV. */
export function platformEnv(
  stage: string,
  table: ITable,
  bucket: IBucket,
  prefix: string,
): Record<string, string> {
  return {
    [ENV.STAGE]: stage,
    [ENV.TABLE]: table.tableName,
    [ENV.ARTIFACT_ROOT]: `s3://${bucket.bucketName}/${prefix}`,
  };
}

const TABLE_READ = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:Query",
  "dynamodb:ConditionCheckItem",
];
const TABLE_WRITE = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
];
/** Everything that could change or remove an existing audit item (PutItem is the append). */
const AUDIT_FORBIDDEN = ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];
const LEADING_KEYS = "dynamodb:LeadingKeys";

/**
 * Item-level access to the single table and its GSIs: no Scan, no table administration.
 * The MetadataStore port only ever queries by key, so nothing broader is needed.
 *
 * The audit log shares the table (partition keys `AUDIT*`, see @keel/audit) and is append-only
 * for every function: general writes exclude those keys (`dynamodb:LeadingKeys`), one statement
 * allows the append (PutItem under `AUDIT`, which StoreAuditLog makes conditional on the item
 * not existing), and an explicit Deny keeps UpdateItem, DeleteItem and BatchWriteItem off the
 * audit keys whatever else a role is granted.
 */
export function grantTable(fn: SstFunction, table: ITable, key: IKey, mode: "read" | "readwrite"): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: TABLE_READ,
      resources: [table.tableArn, `${table.tableArn}/index/*`],
    }),
  );
  if (mode === "readwrite") {
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: TABLE_WRITE,
        resources: [table.tableArn],
        conditions: { "ForAllValues:StringNotLike": { [LEADING_KEYS]: [AUDIT_PK_PATTERN] } },
      }),
    );
    grantAuditPut(fn, table, AUDIT_PK);
  }
  denyAuditChanges(fn, table);
  grantKey(fn, key, mode);
  suppress(fn, [
    [
      "AwsSolutions-IAM5",
      "Queries may use any of the table's GSIs (gsi1..gsi3); the grant is limited to this table's indexes.",
      [resourceEndingWith("/index/*")],
    ],
  ]);
}

/**
 * PutItem on one exact audit partition key (`AUDIT` for appends; the export job's cursor
 * partition for the reconciler). IAM cannot require the put's condition expression, so
 * StoreAuditLog's `attribute_not_exists` is the guard against overwriting an event, the hash
 * chain (`keel audit verify`) detects one, and the stream export reports it (tamper metric).
 */
export function grantAuditPut(fn: SstFunction, table: ITable, partitionKey: string): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["dynamodb:PutItem"],
      resources: [table.tableArn],
      conditions: { "ForAllValues:StringEquals": { [LEADING_KEYS]: [partitionKey] } },
    }),
  );
}

/** An explicit Deny of every update or delete under the audit partition keys. */
function denyAuditChanges(fn: SstFunction, table: ITable): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.DENY,
      actions: AUDIT_FORBIDDEN,
      resources: [table.tableArn],
      conditions: { "ForAnyValue:StringLike": { [LEADING_KEYS]: [AUDIT_PK_PATTERN] } },
    }),
  );
}

/**
 * Object access under one key prefix of a bucket (e.g. `artifacts/`), plus listing limited to
 * that prefix. Writers may put and delete; nobody gets bucket-level configuration actions.
 */
export function grantPrefix(
  fn: SstFunction,
  bucket: IBucket,
  key: IKey,
  prefix: string,
  mode: "read" | "readwrite",
): void {
  const objectActions =
    mode === "read"
      ? ["s3:GetObject"]
      : ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: objectActions,
      resources: [bucket.arnForObjects(`${prefix}*`)],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["s3:ListBucket"],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { "s3:prefix": [`${prefix}*`] } },
    }),
  );
  grantKey(fn, key, mode);
  suppress(fn, [
    [
      "AwsSolutions-IAM5",
      `Object keys under ${prefix} are created at run time; the grant is limited to that prefix.`,
      [resourceEndingWith(`/${prefix}*`)],
    ],
  ]);
}

/** Use of the data key for reading (Decrypt) or writing (also GenerateDataKey) only. */
export function grantKey(fn: SstFunction, key: IKey, mode: "read" | "readwrite"): void {
  const actions = mode === "read" ? ["kms:Decrypt"] : ["kms:Decrypt", "kms:GenerateDataKey"];
  fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources: [key.keyArn] }));
}

/**
 * Runs a function on an EventBridge Scheduler expression with retries, and sends events that
 * still fail to the dead-letter queue. The scheduler's role may invoke only this function.
 */
export function scheduleFunction(
  scope: Construct,
  id: string,
  fn: SstFunction,
  opts: {
    expression: string;
    description: string;
    deadLetterQueue: IQueue;
    maxEventAge: Duration;
    /** The event the function receives (default: EventBridge Scheduler's own). */
    input?: Record<string, unknown>;
  },
): Schedule {
  const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal("scheduler.amazonaws.com") });
  const schedule = new Schedule(scope, id, {
    description: opts.description,
    schedule: ScheduleExpression.expression(opts.expression),
    timeWindow: TimeWindow.off(),
    target: new LambdaInvoke(fn, {
      role,
      deadLetterQueue: opts.deadLetterQueue,
      retryAttempts: 2,
      maxEventAge: opts.maxEventAge,
      ...(opts.input ? { input: ScheduleTargetInput.fromObject(opts.input) } : {}),
    }),
  });
  // After the target's grants exist: suppressions reach only children present at call time.
  suppress(role, [
    [
      "AwsSolutions-IAM5",
      "CDK's invoke grant covers the function's versions and aliases (<function arn>:*); this one function only.",
      [resourceEndingWith(":*")],
    ],
    [
      "AwsSolutions-IAM5",
      "Sending to the KMS-encrypted dead-letter queue needs the data key's GenerateDataKey*/ReEncrypt* (CDK's SQS grant).",
      ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
    ],
  ]);
  return schedule;
}
