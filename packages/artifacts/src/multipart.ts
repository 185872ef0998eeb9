import { ArtifactError } from "./errors";
import { MULTIPART_LIMITS, type UploadedPart } from "./port";

/** Rejects a part number outside S3's range before anything is stored. */
export function checkPartNumber(partNumber: number): void {
  const { minPartNumber: min, maxPartNumber: max } = MULTIPART_LIMITS;
  if (!Number.isInteger(partNumber) || partNumber < min || partNumber > max) {
    throw new ArtifactError(
      "INVALID_PARAMETER_VALUE",
      `part number must be an integer in ${min}..${max}, got ${partNumber}`,
    );
  }
}

/** ETags are opaque; S3 quotes them and clients may or may not keep the quotes. */
export function unquoteEtag(etag: string): string {
  return etag.replace(/^"(.*)"$/, "$1");
}

/**
 * The parts of a complete request in part-number order (S3 rejects any other order), with
 * the problems every adapter must refuse before touching the backend: no parts, a bad number,
 * the same number twice.
 */
export function orderedParts(uploadId: string, parts: UploadedPart[]): UploadedPart[] {
  if (parts.length === 0) {
    throw new ArtifactError(
      "INVALID_PARAMETER_VALUE",
      `multipart upload '${uploadId}': complete needs at least one part`,
    );
  }
  for (const p of parts) checkPartNumber(p.partNumber);
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].partNumber === sorted[i - 1].partNumber) {
      throw new ArtifactError(
        "INVALID_PARAMETER_VALUE",
        `multipart upload '${uploadId}': part ${sorted[i].partNumber} is listed twice`,
      );
    }
  }
  return sorted;
}

export const partTooSmall = (uploadId: string, partNumber: number) =>
  new ArtifactError(
    "INVALID_PARAMETER_VALUE",
    `multipart upload '${uploadId}': part ${partNumber} is smaller than ${MULTIPART_LIMITS.minPartSize} bytes and is not the last part`,
  );

export const partMissing = (uploadId: string, partNumber: number) =>
  new ArtifactError(
    "INVALID_PARAMETER_VALUE",
    `multipart upload '${uploadId}': part ${partNumber} was not uploaded with the given etag`,
  );
