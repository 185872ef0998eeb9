export * from "./port";
export { GENESIS_HASH, hashEvent } from "./chain";
export { StoreAuditLog, AUDIT_PK } from "./dynamodb-audit-log";
