import type { KeelConfig } from "@keel/core";
import { offlineRootOf } from "./api-paths";
import { invalidFeatures } from "./errors";
import { AthenaOfflineStore } from "./offline/athena-store";
import { DuckDbOfflineStore } from "./offline/duckdb-store";
import type { OfflineStore } from "./offline/port";
import { secretCredentials } from "./online/cql-credentials";
import { CqlOnlineStore } from "./online/cql-store";
import { readCaFile } from "./online/cql-tls";
import { DynamoDbOnlineStore } from "./online/dynamodb-store";
import type { OnlineStore } from "./online/port";
import { CachedOnlineStore } from "./online/read-cache";

/** The DynamoDB online table: the metadata table's name with this suffix. */
export const ONLINE_TABLE_SUFFIX = "-online";

/**
 * Builds the online store the config names: DynamoDB (default; on dynalite locally, where the
 * store creates its own table; in `keel dev`, stage local, behind a bounded read-through cache, as
 * that process is the table's only writer) or CQL. `features.cql.flavor` says which CQL service it is:
 * `keyspaces` (Amazon Keyspaces: TLS + SigV4, schema owned by the stack), `scylla` or
 * `cassandra` (credentials from the Secrets Manager secret `cql.credentialsSecret` when set;
 * Keel creates the schema). `cql.port` overrides the driver's port (Keyspaces: 9142).
 * Called by @keel/app, which chooses every adapter.
 */
export function createOnlineStore(config: Pick<KeelConfig, "core" | "features">): OnlineStore {
  const { core, features } = config;
  if (features.onlineStore === "cql") {
    const cql = features.cql;
    if (cql.contactPoints.length === 0)
      throw invalidFeatures(
        "onlineStore is cql but no CQL contact points are configured (KEEL_CQL_CONTACT_POINTS)",
      );
    const keyspaces = cql.flavor === "keyspaces";
    return new CqlOnlineStore({
      contactPoints: cql.contactPoints,
      port: cql.port,
      keyspace: cql.keyspace,
      localDataCenter: cql.localDc,
      keyspaces: keyspaces ? { region: core.region } : undefined,
      credentialsProvider:
        !keyspaces && cql.credentialsSecret ? secretCredentials(cql.credentialsSecret) : undefined,
      tls: keyspaces || !(cql.tls || cql.caFile) ? undefined : { ca: cql.caFile && readCaFile(cql.caFile) },
      manageSchema: !keyspaces,
    });
  }
  const local = core.dynamodbEndpoint !== undefined;
  const dynamo = new DynamoDbOnlineStore({
    table: `${core.table}${ONLINE_TABLE_SUFFIX}`,
    endpoint: core.dynamodbEndpoint,
    region: core.region,
    manageTable: local,
  });
  // `keel dev` owns its dynalite and is the only writer: reads skip the hop when they can.
  return local && core.stage === "local" ? new CachedOnlineStore(dynamo) : dynamo;
}

/**
 * Builds the offline store the config names: Athena when the offline root is an s3:// URI (in
 * AWS; over the Glue database and Athena workgroup the stack created and named in
 * KEEL_GLUE_DATABASE / KEEL_ATHENA_WORKGROUP), otherwise DuckDB over local Parquet under the
 * offline root (default <dataDir>/offline), where s3:// source paths are mapped too.
 */
export function createOfflineStore(config: Pick<KeelConfig, "core" | "offline">): OfflineStore {
  const root = offlineRootOf(config);
  if (root.startsWith("s3://")) {
    const { glueDatabase, athenaWorkgroup } = config.offline;
    if (!glueDatabase || !athenaWorkgroup)
      throw invalidFeatures(
        `the offline root ${root} is in S3, so KEEL_GLUE_DATABASE and KEEL_ATHENA_WORKGROUP must name the Glue database and Athena workgroup`,
      );
    return new AthenaOfflineStore({
      region: config.core.region,
      database: glueDatabase,
      workgroup: athenaWorkgroup,
      stagingUri: `${root.replace(/\/?$/, "/")}_athena/`,
    });
  }
  return new DuckDbOfflineStore({ root });
}
