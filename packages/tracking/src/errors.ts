import { type ErrorCode, KeelError } from "@keel/core";

/** Errors raised by experiment tracking; codes are MLflow's, so the client sees what MLflow would send. */
export class TrackingError extends KeelError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = "TrackingError";
  }
}

export const invalidParam = (message: string) => new TrackingError("INVALID_PARAMETER_VALUE", message);
export const missing = (message: string) => new TrackingError("RESOURCE_DOES_NOT_EXIST", message);
export const exists = (message: string) => new TrackingError("RESOURCE_ALREADY_EXISTS", message);
