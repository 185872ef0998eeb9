export {
  type AuditedItem,
  type AuditedState,
  type AuditMark,
  announce,
  auditFirst,
  NOT_APPLIED_ACTION,
  type NotApplied,
  notApplied,
  notingNotApplied,
  unauditedState,
  verifyWithState,
} from "./audit-first";
export { type AuditModuleDeps, createAuditModule } from "./audit-module";
export { GENESIS_HASH, hashEvent, type VerifiableEvent, verifyChain } from "./chain";
export { AUDIT_PK, AUDIT_PK_PATTERN, auditItem, StoreAuditLog } from "./dynamodb-audit-log";
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
export {
  AUDIT_METRICS_NAMESPACE,
  auditMetricLine,
  EXPORT_GAPS_METRIC,
  ITEMS_CHANGED_METRIC,
} from "./metrics";
export * from "./port";
export {
  exportMissing,
  RECONCILE_CURSOR_KEY,
  type ReconcileOptions,
  type ReconcileResult,
} from "./reconcile";
