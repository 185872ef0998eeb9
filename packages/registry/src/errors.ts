import { KeelError } from "@keel/core";

/** Errors of the registry and its governance; codes are MLflow's, so the client shows them as-is. */
export class RegistryError extends KeelError {}

export const registryErrors = {
  invalid: (message: string) => new RegistryError("INVALID_PARAMETER_VALUE", message),
  notFound: (message: string) => new RegistryError("RESOURCE_DOES_NOT_EXIST", message),
  exists: (message: string) => new RegistryError("RESOURCE_ALREADY_EXISTS", message),
  denied: (message: string) => new RegistryError("PERMISSION_DENIED", message),
  state: (message: string) => new RegistryError("INVALID_STATE", message),
  conflict: (message: string) => new RegistryError("ABORTED", message),
};
