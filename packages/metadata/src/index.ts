export * from "./port";
export * from "./errors";
export { DynamoDbMetadataStore, type DynamoDbStoreOptions } from "./dynamodb-store";
export { createTableInput, TABLE_KEYS } from "./dynamodb-schema";
export { startDynalite, type DynaliteServer } from "./dynalite-server";
