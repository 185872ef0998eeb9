import { fileURLToPath } from "node:url";
import { FsArtifactStore } from "./fs-store";
import type { ArtifactStore } from "./port";
import { S3ArtifactStore, type S3ArtifactStoreOptions } from "./s3-store";

/** Settings that only apply to some backends; the root URI decides which one is built. */
export type ArtifactStoreOptions = Omit<S3ArtifactStoreOptions, "root">;

/**
 * Chooses the ArtifactStore adapter from a root URI: `s3://bucket/prefix` in AWS (or on an
 * S3-compatible `endpoint`), a path or `file://` URI locally. Nothing else branches on the backend.
 */
export function createArtifactStore(root: string, opts: ArtifactStoreOptions = {}): ArtifactStore {
  if (root.startsWith("s3://")) return new S3ArtifactStore({ ...opts, root });
  return new FsArtifactStore(root.startsWith("file://") ? fileURLToPath(root) : root);
}
