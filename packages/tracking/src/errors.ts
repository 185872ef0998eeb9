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

/** The sentence MLflow's server ends a request-parameter error with. */
export const API_DOCS_HINT = " See the API docs for more information about request parameters.";
/** MLflow's message for a request parameter that fails its schema check. */
export const paramSchemaError = (message: string) => invalidParam(`${message}${API_DOCS_HINT}`);
/** MLflow's message for a required request parameter that is absent or empty. */
export const missingParam = (name: string) =>
  paramSchemaError(`Missing value for required parameter '${name}'.`);
