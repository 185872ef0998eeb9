export { type AuditModuleDeps, createAuditModule } from "./audit-module";
export { GENESIS_HASH, hashEvent, type VerifiableEvent, verifyChain } from "./chain";
export { AUDIT_PK, auditItem, StoreAuditLog } from "./dynamodb-audit-log";
export { AuditError } from "./errors";
export {
  type AuditSink,
  EXPORT_CURSOR_KEY,
  type ExportOptions,
  exportAuditEvents,
  exportBody,
  exportKey,
  exportStreamItems,
  S3AuditSink,
  type S3Sender,
} from "./exporter";
export * from "./port";
