import type { Readable } from "node:stream";

/**
 * ArtifactStore: files addressed by a relative path ("<experiment>/<run>/artifacts/model/model.onnx").
 * Paths use "/" separators; ".." segments, absolute paths and empty segments are rejected
 * with INVALID_PARAMETER_VALUE. Writes replace whole objects (readers never see a partial one).
 */
export interface ArtifactInfo {
  /** Path relative to the listed prefix's root (as given to list). */
  path: string;
  isDir: boolean;
  size?: number;
}

export interface ArtifactStore {
  /** A URI naming the object in its backend (file:///..., s3://bucket/key). */
  uri(path: string): string;
  /** Writes an object atomically from bytes or a stream. */
  put(path: string, body: Uint8Array | Readable, opts?: { contentType?: string }): Promise<void>;
  /** Streams an object; throws RESOURCE_DOES_NOT_EXIST when absent. */
  get(path: string): Promise<Readable>;
  /** Reads a whole object into memory; throws RESOURCE_DOES_NOT_EXIST when absent. */
  getBytes(path: string): Promise<Buffer>;
  exists(path: string): Promise<boolean>;
  /** Direct children of a directory-like prefix ("" = root), sorted by path; dirs have isDir. */
  list(prefix: string): Promise<ArtifactInfo[]>;
  /** Deletes an object or, for a directory-like prefix, everything under it. */
  delete(path: string): Promise<void>;
  /** Multipart upload: begin, upload numbered parts (any order, retries allowed), complete or abort. */
  createMultipartUpload(path: string): Promise<{ uploadId: string }>;
  uploadPart(path: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<{ etag: string }>;
  completeMultipartUpload(path: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<void>;
  abortMultipartUpload(path: string, uploadId: string): Promise<void>;
}
