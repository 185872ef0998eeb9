import { KeelError } from "@keel/core";

/** The artifacts package's error; codes are Keel's (MLflow's) error codes. */
export class ArtifactError extends KeelError {
  override name = "ArtifactError";
}

export const artifactNotFound = (path: string) =>
  new ArtifactError("RESOURCE_DOES_NOT_EXIST", `artifact '${path}' does not exist`);

export const uploadNotFound = (uploadId: string) =>
  new ArtifactError(
    "RESOURCE_DOES_NOT_EXIST",
    `no multipart upload '${uploadId}' (unknown, completed or aborted)`,
  );

// S3 keys are at most 1024 bytes and most filesystems cap a name at 255 bytes: checking both
// here gives the same answer on every backend instead of ENAMETOOLONG on one of them.
const MAX_PATH_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;
// A lone surrogate has no UTF-8 encoding: the filesystem would store U+FFFD and list another name.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A path without its "." segments ("a/./b" is "a/b", "." is ""), as POSIX resolves them. */
export function withoutDotSegments(p: string): string {
  return p
    .split("/")
    .filter((seg) => seg !== ".")
    .join("/");
}

/**
 * Validates and normalizes a relative artifact path ("a/b/c"): strips leading/trailing "/",
 * rejects empty, "." and ".." segments, backslashes and control characters (which S3's XML
 * listings cannot carry), so no path can leave the root.
 */
export function normalizePath(p: string, { allowRoot = false } = {}): string {
  if (typeof p !== "string")
    throw new ArtifactError("INVALID_PARAMETER_VALUE", "artifact path must be a string");
  const trimmed = p.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") {
    if (allowRoot) return "";
    throw new ArtifactError("INVALID_PARAMETER_VALUE", "artifact path must not be empty");
  }
  if (Buffer.byteLength(trimmed) > MAX_PATH_BYTES) {
    throw new ArtifactError(
      "INVALID_PARAMETER_VALUE",
      `artifact path is longer than ${MAX_PATH_BYTES} bytes`,
    );
  }
  const parts = trimmed.split("/");
  for (const part of parts) {
    if (part === "" || part === "." || part === ".." || /[\\\u0000-\u001f\u007f]/.test(part)) {
      throw new ArtifactError(
        "INVALID_PARAMETER_VALUE",
        `invalid artifact path '${p}': empty, '.' or '..' segments, backslashes and control characters are not allowed`,
      );
    }
    if (LONE_SURROGATE.test(part)) {
      throw new ArtifactError(
        "INVALID_PARAMETER_VALUE",
        `invalid artifact path '${p}': not well-formed Unicode`,
      );
    }
    if (Buffer.byteLength(part) > MAX_SEGMENT_BYTES) {
      throw new ArtifactError(
        "INVALID_PARAMETER_VALUE",
        `artifact path segment is longer than ${MAX_SEGMENT_BYTES} bytes`,
      );
    }
  }
  return parts.join("/");
}
