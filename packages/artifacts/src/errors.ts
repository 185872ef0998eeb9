import { KeelError } from "@keel/core";

/** The artifacts package's error; codes are Keel's (MLflow's) error codes. */
export class ArtifactError extends KeelError {
  override name = "ArtifactError";
}

export const artifactNotFound = (path: string) =>
  new ArtifactError("RESOURCE_DOES_NOT_EXIST", `artifact '${path}' does not exist`);

export const uploadNotFound = (uploadId: string) =>
  new ArtifactError("RESOURCE_DOES_NOT_EXIST", `no multipart upload '${uploadId}' (unknown, completed or aborted)`);

/**
 * Validates and normalizes a relative artifact path ("a/b/c"): strips leading/trailing "/",
 * rejects empty, "." and ".." segments, backslashes and NUL, so no path can leave the root.
 */
export function normalizePath(p: string, { allowRoot = false } = {}): string {
  if (typeof p !== "string") throw new ArtifactError("INVALID_PARAMETER_VALUE", "artifact path must be a string");
  const trimmed = p.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") {
    if (allowRoot) return "";
    throw new ArtifactError("INVALID_PARAMETER_VALUE", "artifact path must not be empty");
  }
  const parts = trimmed.split("/");
  for (const part of parts) {
    if (part === "" || part === "." || part === ".." || part.includes("\\") || part.includes("\0")) {
      throw new ArtifactError(
        "INVALID_PARAMETER_VALUE",
        `invalid artifact path '${p}': empty, '.' or '..' segments, backslashes and NUL are not allowed`,
      );
    }
  }
  return parts.join("/");
}

/** Checks a part number against S3's range before anything is stored. */
export function checkPartNumber(partNumber: number, min: number, max: number): void {
  if (!Number.isInteger(partNumber) || partNumber < min || partNumber > max) {
    throw new ArtifactError("INVALID_PARAMETER_VALUE", `part number must be an integer in ${min}..${max}, got ${partNumber}`);
  }
}
