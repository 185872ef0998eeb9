import { type ErrorCode, KeelError } from "@keel/core";

/** The feature store's one error class; `code` maps to the HTTP status through core's table. */
export class FeaturesError extends KeelError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
    this.name = "FeaturesError";
  }
}

export const invalidFeatures = (message: string, details?: Record<string, unknown>) =>
  new FeaturesError("INVALID_PARAMETER_VALUE", message, details);
export const unknownFeatures = (message: string) => new FeaturesError("RESOURCE_DOES_NOT_EXIST", message);
