import { KeelError } from "@keel/core";

/** A conditional write found its condition false and changed nothing. */
export class ConditionFailedError extends KeelError {
  constructor(message = "condition failed") {
    super("ABORTED", message);
    this.name = "ConditionFailedError";
  }
}

export function isConditionFailed(e: unknown): e is ConditionFailedError {
  return e instanceof ConditionFailedError;
}

/** The store refused an item (too large, bad value). */
export class MetadataError extends KeelError {}
