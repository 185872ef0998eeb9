import { ENV } from "@keel/core";
import { Duration } from "aws-cdk-lib";
import { CfnWorkGroup } from "aws-cdk-lib/aws-athena";
import { CfnKeyspace, CfnTable } from "aws-cdk-lib/aws-cassandra";
import {
  InterfaceVpcEndpoint,
  InterfaceVpcEndpointAwsService,
  Port,
  SecurityGroup,
} from "aws-cdk-lib/aws-ec2";
import { CfnDatabase } from "aws-cdk-lib/aws-glue";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { type Function as SstFunction, type StackContext, use } from "sst/constructs";
import { removalPolicy } from "./app";
import { grantAthenaQueries, grantGlueTables } from "./athena-grants";
import { grantPrefix, grantTable, keelFunction, platformEnv, scheduleFunction } from "./functions";
import { Network } from "./Network";
import { resourceEndingWith, suppress } from "./nag";
import { PREFIX, Storage } from "./Storage";
import { stageSettings } from "./settings";

/**
 * The online feature table on Keyspaces, exactly as `@keel/features`' CQL store writes it
 * (packages/features/src/online/cql-store.ts): one row per (entity, view) holding the view's
 * values as one JSON payload, so reading N features of an entity is one single-row read.
 */
export const ONLINE_TABLE = {
  name: "online_features",
  partitionKey: ["entity_key", "feature_view"],
  columns: { event_ts: "bigint", created_ts: "bigint", payload: "text" },
  /** Keyspaces' maximum (20 years): enables TTL, which the store's `USING TTL ?` writes need. */
  defaultTtlSeconds: 630_720_000,
} as const;

/**
 * The feature store's AWS side for a stage: the online store (Keyspaces with a private
 * endpoint, or ScyllaDB Cloud through a secret), the offline store (Parquet under `offline/`
 * in the artifact bucket, catalogued in Glue, queried with Athena) and the materialization
 * schedule.
 */
export function Features({ stack, app }: StackContext) {
  const settings = stageSettings(app);
  const { vpc, lambdaSg, privateSubnets } = use(Network);
  const { table, bucket, key } = use(Storage);
  const keyspaceName = `keel_${app.stage.replace(/[^a-zA-Z0-9]/g, "_")}`;

  // The variables any function reading online features needs; consumers spread them in.
  const onlineEnv: Record<string, string> = { [ENV.ONLINE_STORE]: "cql", [ENV.CQL_KEYSPACE]: keyspaceName };
  let grantOnline: (fn: SstFunction) => void;

  if (settings.onlineStore.type === "keyspaces") {
    const keyspace = new CfnKeyspace(stack, "Keyspace", {
      keyspaceName,
      replicationSpecification: { replicationStrategy: "SINGLE_REGION" },
    });
    const onlineTable = new CfnTable(stack, "OnlineTable", {
      keyspaceName,
      tableName: ONLINE_TABLE.name,
      partitionKeyColumns: ONLINE_TABLE.partitionKey.map((columnName) => ({
        columnName,
        columnType: "text",
      })),
      regularColumns: Object.entries(ONLINE_TABLE.columns).map(([columnName, columnType]) => ({
        columnName,
        columnType,
      })),
      billingMode: { mode: "ON_DEMAND" },
      pointInTimeRecoveryEnabled: true,
      encryptionSpecification: { encryptionType: "CUSTOMER_MANAGED_KMS_KEY", kmsKeyIdentifier: key.keyArn },
      // Last-write-wins by the writer's timestamp (`USING TIMESTAMP`): replays never regress.
      clientSideTimestampsEnabled: true,
      defaultTimeToLive: ONLINE_TABLE.defaultTtlSeconds,
    });
    onlineTable.addDependency(keyspace);
    for (const r of [keyspace, onlineTable]) r.applyRemovalPolicy(removalPolicy(settings));

    // Private path to Keyspaces: with private DNS the public hostname resolves to the endpoint.
    const keyspacesSg = new SecurityGroup(stack, "KeyspacesEndpointSg", {
      vpc,
      description: "Keyspaces interface endpoint: CQL over TLS from Keel functions",
      allowAllOutbound: false,
    });
    keyspacesSg.addIngressRule(lambdaSg, Port.tcp(9142), "CQL over TLS to Keyspaces");
    new InterfaceVpcEndpoint(stack, "KeyspacesEndpoint", {
      vpc,
      service: InterfaceVpcEndpointAwsService.KEYSPACES,
      securityGroups: [keyspacesSg],
      privateDnsEnabled: true,
      subnets: privateSubnets,
    });
    Object.assign(onlineEnv, {
      [ENV.CQL_CONTACT_POINTS]: `cassandra.${stack.region}.amazonaws.com`,
      [ENV.CQL_LOCAL_DC]: stack.region,
      [ENV.CQL_PORT]: "9142",
      [ENV.CQL_FLAVOR]: "keyspaces",
    });
    const keyspaceArn = `arn:${stack.partition}:cassandra:${stack.region}:${stack.account}:/keyspace/${keyspaceName}/`;
    grantOnline = (fn) => {
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ["cassandra:Select", "cassandra:Modify"],
          resources: [`${keyspaceArn}table/${ONLINE_TABLE.name}`],
        }),
      );
      // Drivers read the system keyspaces (peers, schema) when they connect.
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ["cassandra:Select"],
          resources: [`arn:${stack.partition}:cassandra:${stack.region}:${stack.account}:/keyspace/system*`],
        }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ["kms:Decrypt", "kms:GenerateDataKey"],
          resources: [key.keyArn],
        }),
      );
      suppress(fn, [
        [
          "AwsSolutions-IAM5",
          "CQL drivers read system, system_schema and system_schema_mcs on connect; Select only.",
          [resourceEndingWith("/keyspace/system*")],
        ],
      ]);
    };
  } else {
    const { contactPoints, localDc, credentialsSecretName, port } = settings.onlineStore;
    const secret = Secret.fromSecretNameV2(stack, "ScyllaCredentials", credentialsSecretName);
    Object.assign(onlineEnv, {
      [ENV.CQL_CONTACT_POINTS]: contactPoints.join(","),
      [ENV.CQL_LOCAL_DC]: localDc,
      [ENV.CQL_FLAVOR]: "scylla",
      [ENV.CQL_CREDENTIALS_SECRET]: secret.secretArn,
      // Remote ScyllaDB is only ever reached over verified TLS (the store refuses plain text).
      [ENV.CQL_TLS]: "true",
      [ENV.CQL_PORT]: String(port),
    });
    grantOnline = (fn) => {
      secret.grantRead(fn);
      suppress(fn, [
        [
          "AwsSolutions-IAM5",
          "A secret referenced by name has a random 6-character ARN suffix, so the grant ends in '-??????' (this one secret only).",
          [resourceEndingWith("-??????")],
        ],
      ]);
    };
  }

  const glueDatabaseName = keyspaceName;
  new CfnDatabase(stack, "GlueDatabase", {
    catalogId: stack.account,
    databaseInput: {
      name: glueDatabaseName,
      description: `Keel ${app.stage} offline feature store (one table per feature view over Parquet)`,
      locationUri: `s3://${bucket.bucketName}/${PREFIX.offline}`,
    },
  });
  const workgroup = new CfnWorkGroup(stack, "AthenaWorkgroup", {
    name: `keel-${app.stage}`,
    description: "Point-in-time joins over the offline store",
    recursiveDeleteOption: settings.removal === "destroy",
    workGroupConfiguration: {
      enforceWorkGroupConfiguration: true,
      publishCloudWatchMetricsEnabled: true,
      bytesScannedCutoffPerQuery: 1_000_000_000_000,
      resultConfiguration: {
        outputLocation: `s3://${bucket.bucketName}/${PREFIX.athenaResults}`,
        encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKey: key.keyArn },
      },
    },
  });

  const offlineEnv: Record<string, string> = {
    [ENV.OFFLINE_ROOT]: `s3://${bucket.bucketName}/${PREFIX.offline}`,
    [ENV.GLUE_DATABASE]: glueDatabaseName,
    [ENV.ATHENA_WORKGROUP]: workgroup.name,
  };
  /**
   * Athena queries in this workgroup over this database's tables; a view's table is created at
   * apply time, updated as partitions arrive, and dropped to replace it (DeleteTable).
   */
  const grantOffline = (fn: SstFunction) => {
    grantAthenaQueries(fn, { bucket, key, glueDatabaseName, workgroup });
    grantGlueTables(fn, glueDatabaseName, [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:GetTables",
      "glue:GetPartitions",
      "glue:CreateTable",
      "glue:UpdateTable",
      "glue:DeleteTable",
      "glue:BatchCreatePartition",
    ]);
    grantPrefix(fn, bucket, key, PREFIX.offline, "readwrite");
    suppress(fn, [
      [
        "AwsSolutions-IAM5",
        "One Glue table per feature view, created when a view is applied; limited to this stage's database.",
        [resourceEndingWith(`/${glueDatabaseName}/*`)],
      ],
    ]);
  };

  const materialize = keelFunction(stack, "MaterializeFn", {
    handler: "functions/materialize.handler",
    description: "Materializes feature views from the offline to the online store",
    timeout: 900,
    memorySize: 2048,
    vpc,
    vpcSubnets: privateSubnets,
    securityGroups: [lambdaSg],
    environment: { ...platformEnv(app.stage, table, bucket, PREFIX.artifacts), ...onlineEnv, ...offlineEnv },
  });
  grantTable(materialize, table, key, "readwrite");
  grantOnline(materialize);
  grantOffline(materialize);

  const scheduleDlq = new Queue(stack, "ScheduleDlq", {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  suppress(scheduleDlq, [
    ["AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the schedules."],
  ]);
  scheduleFunction(stack, "MaterializeSchedule", materialize, {
    expression: settings.materializeSchedule,
    description: "Runs incremental feature materialization",
    deadLetterQueue: scheduleDlq,
    maxEventAge: Duration.hours(1),
  });

  stack.addOutputs({
    Keyspace: keyspaceName,
    GlueDatabase: glueDatabaseName,
    AthenaWorkgroup: workgroup.name ?? "",
  });
  return {
    onlineEnv,
    offlineEnv,
    grantOnline,
    grantOffline,
    scheduleDlq,
    keyspaceName,
    glueDatabaseName,
    workgroup,
  };
}
