import { KeelError } from "@keel/core";

/** Errors of the audit package (bad list filters, unreadable trails, export failures). */
export class AuditError extends KeelError {}
