import type { KeelConfig } from "@keel/core";
import { offlineRootOf } from "./api-paths";
import { invalidFeatures } from "./errors";
import { AthenaOfflineStore } from "./offline/athena-store";
import { DuckDbOfflineStore } from "./offline/duckdb-store";
import type { OfflineStore } from "./offline/port";
import { secretCredentials } from "./online/cql-credentials";
import { CqlOnlineStore } from "./online/cql-store";
import { DynamoDbOnlineStore } from "./online/dynamodb-store";
import type { OnlineStore } from "./online/port";

/** The DynamoDB online table: the metadata table's name with this suffix. */
export const ONLINE_TABLE_SUFFIX = "-online";

/**
 * The one place that picks the online store: DynamoDB (default; on dynalite locally, where
 * the store creates its own table) or CQL from `cqlContactPoints`. A contact point on
 * `*.amazonaws.com` is Amazon Keyspaces: TLS + SigV4, schema owned by the stack. Elsewhere
 * (ScyllaDB Cloud, Cassandra) `cqlCredentialsSecret` names the Secrets Manager secret with the
 * username and password.
 */
export function createOnlineStore(config: KeelConfig): OnlineStore {
  if (config.onlineStore === "cql") {
    if (config.cqlContactPoints.length === 0)
      throw invalidFeatures(
        "onlineStore is cql but no CQL contact points are configured (KEEL_CQL_CONTACT_POINTS)",
      );
    const keyspaces = config.cqlContactPoints.some((p) => p.split(":")[0].endsWith(".amazonaws.com"));
    return new CqlOnlineStore({
      contactPoints: config.cqlContactPoints,
      keyspace: config.cqlKeyspace,
      localDataCenter: config.cqlLocalDc,
      keyspaces: keyspaces ? { region: config.region } : undefined,
      credentialsProvider:
        !keyspaces && config.cqlCredentialsSecret
          ? secretCredentials(config.cqlCredentialsSecret)
          : undefined,
      manageSchema: !keyspaces,
    });
  }
  return new DynamoDbOnlineStore({
    table: `${config.table}${ONLINE_TABLE_SUFFIX}`,
    endpoint: config.dynamodbEndpoint,
    region: config.region,
    manageTable: config.dynamodbEndpoint !== undefined,
  });
}

/**
 * The one place that picks the offline store: Athena when the offline root is an s3:// URI
 * (in AWS), otherwise DuckDB over local Parquet under the offline root (default
 * <dataDir>/offline), where s3:// source paths are mapped too.
 */
export function createOfflineStore(config: KeelConfig): OfflineStore {
  const root = offlineRootOf(config);
  if (root.startsWith("s3://")) {
    return new AthenaOfflineStore({
      region: config.region,
      database: athenaDatabase(config.stage),
      workgroup: athenaWorkgroup(config.stage),
      stagingUri: `${root.replace(/\/?$/, "/")}_athena/`,
    });
  }
  return new DuckDbOfflineStore({ root });
}

/**
 * Glue database (one table per file source, named after it) and Athena workgroup of a stage:
 * the names stacks/Features.ts gives them.
 */
export const athenaDatabase = (stage: string) => `keel_${stage.replace(/[^a-zA-Z0-9]/g, "_")}`;
export const athenaWorkgroup = (stage: string) => `keel-${stage}`;
