import { type ErrorCode, KeelError } from "@keel/core";

/** The feature store's one error class; `code` maps to the HTTP status through core's table. */
export class FeaturesError extends KeelError {
  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
    this.name = "FeaturesError";
  }
}

export const invalidFeatures = (message: string, details?: Record<string, unknown>, cause?: unknown) =>
  new FeaturesError("INVALID_PARAMETER_VALUE", message, details, cause === undefined ? undefined : { cause });
export const unknownFeatures = (message: string) => new FeaturesError("RESOURCE_DOES_NOT_EXIST", message);
