export * from "./port";
export { AuditError } from "./errors";
export { GENESIS_HASH, hashEvent, verifyChain } from "./chain";
export { StoreAuditLog, AUDIT_PK, auditItem } from "./dynamodb-audit-log";
export {
  type AuditSink,
  type ExportOptions,
  type S3Sender,
  EXPORT_CURSOR_KEY,
  exportAuditEvents,
  exportKey,
  S3AuditSink,
} from "./exporter";
export { createAuditModule, type AuditModuleDeps } from "./audit-module";
