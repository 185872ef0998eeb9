export { migrateFromDynalite } from "./dynalite-migration";
export { type DynaliteServer, startDynalite } from "./dynalite-server";
export { createTableInput, TABLE_KEYS } from "./dynamodb-schema";
export { createDynamoDbClient, DynamoDbMetadataStore, type DynamoDbStoreOptions } from "./dynamodb-store";
export * from "./errors";
export { checkKeyValue, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES } from "./key-limits";
export { localPaths, type MigrationReport, openLocalMetadataStore } from "./local-store";
export * from "./port";
export { SqliteMetadataStore, type SqliteStoreOptions } from "./sqlite-store";
