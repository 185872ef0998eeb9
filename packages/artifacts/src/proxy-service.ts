import type { Readable } from "node:stream";
import { requireRole } from "@keel/core";
import { ArtifactError, normalizePath, withoutDotSegments } from "./errors";
import { mimeTypeOf } from "./mime";
import { unquoteEtag } from "./multipart";
import { type ArtifactStore, MULTIPART_LIMITS } from "./port";

/**
 * Largest part accepted through the proxy. A part is handed to the store as one buffer (S3
 * needs its length up front); MLflow's client sends 10 MiB parts by default.
 */
export const MAX_PROXY_PART_BYTES = 512 * 1024 * 1024;

/** One entry of MLflow's `ListArtifacts.Response.files`. */
export interface MlflowFileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface MlflowUploadCredential {
  url: string;
  part_number: number;
  headers: Record<string, string>;
}

/** Where the client sends part `partNumber` of an upload to `target`, and with which headers. */
export type PartUrl = (target: string, uploadId: string, partNumber: number) => string;

/** Where artifact writes are recorded (Keel's AuditLog satisfies it). */
export interface ArtifactAudit {
  append(event: { action: string; resource: string; state?: unknown }): Promise<unknown>;
}

/**
 * Which artifact paths may not change (the registry's registered versions' files): the reason
 * when `path` is locked, undefined otherwise. With `subtree`, a lock anywhere below `path`
 * counts too (a directory delete would remove it). platform.ts wires the registry's answer.
 */
export interface ArtifactLockPort {
  lockedBy(path: string, opts: { subtree: boolean }): Promise<string | undefined>;
}

/**
 * Prefixes that hold evidence and personal data (prediction logs, model cards, approvals):
 * never written or deleted through the artifact API, and read (downloaded or listed) only by an auditor
 * or a deployer. Keel's services write there through the ArtifactStore directly.
 */
export const RESTRICTED_PREFIXES = ["predictions", "evidence"] as const;

function restrictedPrefix(path: string): string | undefined {
  const first = path.split("/")[0];
  return RESTRICTED_PREFIXES.find((p) => p === first);
}

/**
 * MLflow's artifact proxy (`mlflow server --serve-artifacts`) over an ArtifactStore: the
 * semantics of `mlflow/server/handlers.py`'s `_upload_artifact`, `_download_artifact`,
 * `_list_artifacts_mlflow_artifacts`, `_delete_artifact_mlflow_artifacts` and the `mpu/*`
 * handlers. Paths are relative to the artifact root, e.g. `<experiment>/<run>/artifacts/model/MLmodel`.
 */
export class ArtifactProxyService {
  constructor(
    private readonly store: ArtifactStore,
    private readonly audit?: ArtifactAudit,
    private readonly locks?: ArtifactLockPort,
  ) {}

  /** Refuses (403, audited) a write under a locked or restricted prefix. */
  private async assertWritable(path: string, action: "write" | "delete"): Promise<void> {
    const restricted = restrictedPrefix(path);
    let reason = restricted
      ? `'${restricted}/' holds evidence and prediction logs, which only Keel's services write and nobody deletes`
      : undefined;
    reason ??= await this.locks?.lockedBy(path, { subtree: action === "delete" });
    if (!reason) return;
    await this.audit?.append({
      action: "artifacts.refused",
      resource: `artifact:${path}`,
      state: { action, reason },
    });
    throw new ArtifactError("PERMISSION_DENIED", `artifact ${action} refused: ${reason}`);
  }

  /** Refuses reading evidence and prediction logs without the auditor or deployer role. */
  private assertReadable(path: string): void {
    const restricted = restrictedPrefix(path);
    if (restricted) requireRole(`read '${restricted}/' artifacts`, "auditor", "deployer");
  }

  /** Stores a streamed body at path, never holding it whole in memory. */
  async upload(path: string, body: Readable | null, contentType?: string): Promise<void> {
    const p = safePath(path);
    await this.assertWritable(p, "write");
    await this.store.put(p, body ?? new Uint8Array(0), { contentType });
    await this.audit?.append({ action: "artifacts.put", resource: `artifact:${p}`, state: { contentType } });
  }

  /** Streams an artifact with the headers MLflow sends (always an attachment, nosniff). */
  async download(path: string): Promise<{ body: Readable; headers: Record<string, string> }> {
    const p = safePath(path);
    this.assertReadable(p);
    const body = await this.store.get(p);
    const name = p.slice(p.lastIndexOf("/") + 1);
    return {
      body,
      headers: {
        "content-type": mimeTypeOf(name),
        "content-disposition": `attachment; filename=${name}`,
        "x-content-type-options": "nosniff",
      },
    };
  }

  /**
   * Direct children of a directory, named relative to it as MLflow returns them; an empty
   * list is `{}` (protobuf JSON omits empty repeated fields), as is a path that names a file.
   */
  async list(path: string | undefined): Promise<{ files?: MlflowFileInfo[] }> {
    const dir = path === undefined ? "" : safePath(path, true);
    this.assertReadable(dir);
    const entries = await this.store.list(dir);
    if (entries.length === 0) return {};
    return {
      files: entries.map((e) => {
        const name = e.path.slice(e.path.lastIndexOf("/") + 1);
        return e.isDir ? { path: name, is_dir: true } : { path: name, is_dir: false, file_size: e.size ?? 0 };
      }),
    };
  }

  /** Deletes an artifact or a whole directory of them. */
  async delete(path: string): Promise<void> {
    const p = safePath(path);
    await this.assertWritable(p, "delete");
    await this.store.delete(p);
    await this.audit?.append({ action: "artifacts.delete", resource: `artifact:${p}` });
  }

  /**
   * Begins a multipart upload of the client's local file `localPath` into directory `dir`
   * (MLflow's create puts `basename(localPath)` under the URL's artifact path) and returns one
   * credential per part: a URL on this server the client PUTs the part to, with the headers
   * it must send (the caller's Authorization, so a JWT-authorized API accepts the parts).
   */
  async createMultipartUpload(
    dir: string,
    localPath: string,
    numParts: number,
    partUrl: PartUrl,
    headers: Record<string, string>,
  ): Promise<{ upload_id: string; credentials: MlflowUploadCredential[] }> {
    if (!Number.isInteger(numParts) || numParts < 1 || numParts > MULTIPART_LIMITS.maxPartNumber) {
      throw new ArtifactError(
        "INVALID_PARAMETER_VALUE",
        `num_parts must be an integer in 1..${MULTIPART_LIMITS.maxPartNumber}, got ${numParts}`,
      );
    }
    const target = mpuTarget(dir, localPath);
    await this.assertWritable(target, "write");
    const { uploadId } = await this.store.createMultipartUpload(target);
    const credentials = Array.from({ length: numParts }, (_, i) => ({
      url: partUrl(target, uploadId, i + 1),
      part_number: i + 1,
      headers,
    }));
    return { upload_id: uploadId, credentials };
  }

  /** Stores one part sent to a credential's URL; returns the ETag (quoted, as S3 does). */
  async uploadPart(
    path: string,
    uploadId: string,
    partNumber: number,
    body: Readable | null,
  ): Promise<string> {
    const p = safePath(path);
    await this.assertWritable(p, "write");
    const bytes = body ? await readAtMost(body, MAX_PROXY_PART_BYTES) : new Uint8Array(0);
    const { etag } = await this.store.uploadPart(p, uploadId, partNumber, bytes);
    return `"${unquoteEtag(etag)}"`;
  }

  async completeMultipartUpload(
    dir: string,
    localPath: string,
    uploadId: string,
    parts: Array<{ part_number: number; etag: string }>,
  ): Promise<void> {
    const target = mpuTarget(dir, localPath);
    await this.assertWritable(target, "write");
    await this.store.completeMultipartUpload(
      target,
      uploadId,
      parts.map((p) => ({ partNumber: p.part_number, etag: p.etag })),
    );
    await this.audit?.append({
      action: "artifacts.put",
      resource: `artifact:${target}`,
      state: { multipartUploadId: uploadId, parts: parts.length },
    });
  }

  async abortMultipartUpload(dir: string, localPath: string, uploadId: string): Promise<void> {
    await this.store.abortMultipartUpload(mpuTarget(dir, localPath), uploadId);
  }
}

/**
 * MLflow's `validate_path_is_safe`: besides traversal (which normalizePath rejects), an
 * absolute path is refused rather than silently made relative. A "." segment names the
 * directory it is in, as MLflow accepts it (`download_artifacts(artifact_path=".")` lists
 * `<run root>/.`), so it is dropped.
 */
function safePath(path: string, allowRoot = false): string {
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) {
    throw new ArtifactError(
      "INVALID_PARAMETER_VALUE",
      `invalid artifact path '${path}': absolute paths are not allowed`,
    );
  }
  return normalizePath(withoutDotSegments(path), { allowRoot });
}

/** The object a multipart upload writes: the local file's name under the URL's directory. */
function mpuTarget(dir: string, localPath: string): string {
  const name = localPath.split(/[\\/]/).pop() ?? "";
  const base = safePath(dir, true);
  return normalizePath(base ? `${base}/${name}` : name);
}

/** Reads a stream into one buffer, refusing (and discarding) more than `limit` bytes. */
async function readAtMost(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += chunk.length;
    if (length > limit) {
      stream.destroy();
      throw new ArtifactError("PAYLOAD_TOO_LARGE", `a multipart part may be at most ${limit} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, length);
}
