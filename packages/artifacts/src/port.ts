import type { Readable } from "node:stream";

/**
 * ArtifactStore: whole objects addressed by a relative path
 * ("<experiment>/<run>/artifacts/model/model.onnx").
 *
 * Paths use "/" separators. Leading and trailing "/" are ignored; empty, "." and ".." segments,
 * backslashes and NUL are rejected with INVALID_PARAMETER_VALUE before the backend is touched.
 * Writes replace whole objects: a reader sees the old object or the complete new one, never a
 * partial one. Every adapter passes `tests/conformance/artifact-store.suite.ts`.
 */
export interface ArtifactInfo {
  /** Path relative to the store's root (the listed prefix plus the child's name). */
  path: string;
  isDir: boolean;
  /** Size in bytes; files only. */
  size?: number;
}

/** A part of a multipart upload, as returned by `uploadPart` and given back to complete. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/** S3's bounds, which every adapter enforces so that code tested locally works in AWS. */
export const MULTIPART_LIMITS = {
  minPartNumber: 1,
  maxPartNumber: 10_000,
  /** Every part except the last must be at least this big (checked on complete). */
  minPartSize: 5 * 1024 * 1024,
} as const;

export interface ArtifactStore {
  /** A URI naming the object in its backend (`file:///...`, `s3://bucket/prefix/path`); "" names the root. */
  uri(path: string): string;
  /**
   * Writes an object from bytes or a stream, replacing any previous one atomically. A stream
   * is consumed once and never held in memory whole. If the stream fails, nothing is written
   * and the previous object (if any) stays. A path whose parent is an object, or that names a
   * directory, is INVALID_PARAMETER_VALUE on adapters with real directories.
   */
  put(path: string, body: Uint8Array | Readable, opts?: { contentType?: string }): Promise<void>;
  /** Streams an object; throws RESOURCE_DOES_NOT_EXIST when absent (also for a directory). */
  get(path: string): Promise<Readable>;
  /** Reads a whole object into memory; throws RESOURCE_DOES_NOT_EXIST when absent. */
  getBytes(path: string): Promise<Buffer>;
  /** True when an object (not a directory) exists at path. */
  exists(path: string): Promise<boolean>;
  /**
   * Direct children of a directory-like prefix ("" = the root), sorted by path (code-unit
   * order). Directories come with `isDir: true` and no size. A prefix that is absent or names
   * an object lists as [].
   */
  list(prefix: string): Promise<ArtifactInfo[]>;
  /** Deletes an object or, for a directory-like prefix, everything under it. Absent paths are a no-op. */
  delete(path: string): Promise<void>;
  /** Begins a multipart upload to path; the object appears only when completed. */
  createMultipartUpload(path: string): Promise<{ uploadId: string }>;
  /**
   * Stores part `partNumber` (1..10000) of an upload. Parts may arrive in any order and a part
   * may be uploaded again (a retry): the last upload of a number wins, and its etag is the one
   * to complete with. RESOURCE_DOES_NOT_EXIST when the upload is unknown, completed or aborted.
   */
  uploadPart(path: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<UploadedPart>;
  /**
   * Assembles the listed parts, in part-number order whatever the order given, into the object
   * and ends the upload. INVALID_PARAMETER_VALUE when the list is empty, names a part twice,
   * names a part or etag that was not uploaded, or a part other than the last is smaller than
   * `MULTIPART_LIMITS.minPartSize`. RESOURCE_DOES_NOT_EXIST when the upload is unknown.
   */
  completeMultipartUpload(path: string, uploadId: string, parts: UploadedPart[]): Promise<void>;
  /** Discards an upload and its parts; the object at path is untouched. RESOURCE_DOES_NOT_EXIST when unknown. */
  abortMultipartUpload(path: string, uploadId: string): Promise<void>;
}
