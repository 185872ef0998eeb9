import { KeelError } from "@keel/core";

export const badTuning = (message: string) => new KeelError("INVALID_PARAMETER_VALUE", message);
export const noSuchTuning = (name: string) =>
  new KeelError("RESOURCE_DOES_NOT_EXIST", `tuning experiment "${name}" does not exist`);
