import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { AWS_TRANSFER_TIMEOUTS } from "@keel/core";
import { ArtifactError, artifactNotFound, normalizePath, uploadNotFound } from "./errors";
import { checkPartNumber, orderedParts, unquoteEtag } from "./multipart";
import { type ArtifactInfo, type ArtifactStore, MULTIPART_LIMITS, type UploadedPart } from "./port";

export interface S3ArtifactStoreOptions {
  /** `s3://bucket` or `s3://bucket/prefix`. */
  root: string;
  region?: string;
  /** An S3-compatible endpoint (MinIO, a test server); implies path-style addressing. */
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: S3ClientConfig["credentials"];
  /** Size of the parts a streamed put is cut into (default 8 MiB, at least S3's 5 MiB). */
  partSize?: number;
  /** Parts of one streamed put in flight at once (default 4); memory is partSize x this. */
  partConcurrency?: number;
}

/** Most keys S3 deletes in one DeleteObjects call. */
const DELETE_BATCH = 1000;

/** Splits `s3://bucket/prefix` into its bucket and normalized prefix. */
export function parseS3Root(root: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(root);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) {
    throw new ArtifactError(
      "INVALID_PARAMETER_VALUE",
      `invalid S3 artifact root '${root}': expected s3://bucket[/prefix]`,
    );
  }
  return { bucket: m[1], prefix: normalizePath(m[2], { allowRoot: true }) };
}

/**
 * ArtifactStore on S3 (or an S3-compatible store). Objects are keys under `prefix/`;
 * directories are the "/"-delimited common prefixes of a listing. S3 replaces objects
 * atomically, so a reader never sees a partial one; streamed puts are sent as one PutObject
 * when they fit in a part, else as a multipart upload that is aborted if the stream fails.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly bucket: string;
  readonly prefix: string;
  /** The SDK client; exposed so tests can observe the commands sent. */
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly partConcurrency: number;

  constructor(opts: S3ArtifactStoreOptions) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Root(opts.root));
    this.partSize = Math.max(opts.partSize ?? 8 * 1024 * 1024, MULTIPART_LIMITS.minPartSize);
    this.partConcurrency = Math.max(1, opts.partConcurrency ?? 4);
    this.client = new S3Client({
      region: opts.region ?? "us-east-1",
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      credentials: opts.credentials,
      ...AWS_TRANSFER_TIMEOUTS,
      // The SDK adds CRC32 checksums to every upload by default (aws-chunked trailers for
      // streams), which many S3-compatible servers mishandle (s3rver stores such bodies
      // corrupted), so against a custom endpoint only the checksums an operation requires are
      // sent. On AWS the defaults stay and S3 verifies every upload.
      ...(opts.endpoint
        ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" }
        : {}),
    });
  }

  private key(path: string, allowRoot = false): string {
    const rel = normalizePath(path, { allowRoot });
    if (!this.prefix) return rel;
    return rel ? `${this.prefix}/${rel}` : this.prefix;
  }

  /** The "directory" prefix under which a path's children live ("" for the bucket root). */
  private dirPrefix(path: string): string {
    const k = this.key(path, true);
    return k ? `${k}/` : "";
  }

  private relative(key: string): string {
    return this.prefix ? key.slice(this.prefix.length + 1) : key;
  }

  uri(path: string): string {
    const k = this.key(path, true);
    return k ? `s3://${this.bucket}/${k}` : `s3://${this.bucket}`;
  }

  async put(path: string, body: Uint8Array | Readable, opts: { contentType?: string } = {}): Promise<void> {
    const Key = this.key(path);
    if (body instanceof Uint8Array) return this.putObject(path, Key, body, opts.contentType);
    const parts = chunks(body, this.partSize);
    const first = await parts.next();
    if (first.done) return this.putObject(path, Key, new Uint8Array(0), opts.contentType);
    const second = await parts.next();
    if (second.done) return this.putObject(path, Key, first.value, opts.contentType);
    await this.putMultipart(path, Key, opts.contentType, [first.value, second.value], parts);
  }

  private async putObject(path: string, Key: string, Body: Uint8Array, ContentType?: string): Promise<void> {
    await this.guard(
      () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body, ContentType })),
      path,
    );
  }

  /** Uploads a stream already cut into parts, a bounded number at a time; aborts on any failure. */
  private async putMultipart(
    path: string,
    Key: string,
    ContentType: string | undefined,
    head: Buffer[],
    rest: AsyncGenerator<Buffer>,
  ): Promise<void> {
    const created = await this.guard(
      () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ContentType })),
      path,
    );
    const UploadId = created.UploadId!;
    const done: UploadedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const start = (partNumber: number, Body: Buffer) => {
      const p = this.guard(
        () =>
          this.client.send(
            new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber: partNumber, Body }),
          ),
        path,
      )
        .then((r) => {
          done.push({ partNumber, etag: r.ETag! });
        })
        .catch((e) => {
          failure ??= e;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    try {
      let n = 0;
      for (const part of head) start(++n, part);
      for await (const part of rest) {
        while (inFlight.size >= this.partConcurrency) await Promise.race(inFlight);
        if (failure) break;
        start(++n, part);
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      await this.completeMultipartUpload(path, UploadId, done);
    } catch (e) {
      await Promise.all(inFlight);
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }))
        .catch(() => undefined);
      throw e;
    }
  }

  async get(path: string): Promise<Readable> {
    const r = await this.guard(
      () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) })),
      path,
    );
    return r.Body as Readable;
  }

  async getBytes(path: string): Promise<Buffer> {
    const r = await this.guard(
      () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) })),
      path,
    );
    return Buffer.from(await r.Body!.transformToByteArray());
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.guard(
        () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) })),
        path,
      );
      return true;
    } catch (e) {
      if (e instanceof ArtifactError && e.code === "RESOURCE_DOES_NOT_EXIST") return false;
      throw e;
    }
  }

  async list(prefix: string): Promise<ArtifactInfo[]> {
    const Prefix = this.dirPrefix(prefix);
    const out: ArtifactInfo[] = [];
    for await (const page of this.pages(Prefix, "/")) {
      for (const cp of page.CommonPrefixes ?? [])
        out.push({ path: this.relative(cp.Prefix!.slice(0, -1)), isDir: true });
      for (const o of page.Contents ?? []) {
        // A zero-byte "folder marker" object some tools create for the prefix itself is not a child.
        if (o.Key === Prefix) continue;
        out.push({ path: this.relative(o.Key!), isDir: false, size: o.Size ?? 0 });
      }
    }
    // S3 orders by UTF-8 bytes; the port promises JavaScript's code-unit order on every adapter.
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    const Key = this.key(path);
    // The object itself and everything under it as a directory, 1000 keys per DeleteObjects.
    let batch: string[] = [Key];
    for await (const page of this.pages(`${Key}/`)) {
      for (const o of page.Contents ?? []) {
        batch.push(o.Key!);
        if (batch.length === DELETE_BATCH) {
          await this.deleteKeys(batch, path);
          batch = [];
        }
      }
    }
    if (batch.length) await this.deleteKeys(batch, path);
  }

  private async deleteKeys(keys: string[], path: string): Promise<void> {
    const r = await this.guard(
      () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      path,
    );
    if (r.Errors?.length) {
      const e = r.Errors[0];
      throw new Error(
        `S3 DeleteObjects failed for ${r.Errors.length} key(s), first ${e.Key}: ${e.Code} ${e.Message}`,
      );
    }
  }

  /** Every page of a ListObjectsV2 over Prefix, following continuation tokens. */
  private async *pages(Prefix: string, Delimiter?: string): AsyncGenerator<ListObjectsV2CommandOutput> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.guard(
        () =>
          this.client.send(
            new ListObjectsV2Command({ Bucket: this.bucket, Prefix, Delimiter, ContinuationToken }),
          ),
        Prefix,
      );
      yield page;
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async createMultipartUpload(path: string): Promise<{ uploadId: string }> {
    const r = await this.guard(
      () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(path) })),
      path,
    );
    return { uploadId: r.UploadId! };
  }

  async uploadPart(
    path: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
  ): Promise<UploadedPart> {
    checkPartNumber(partNumber);
    const r = await this.guard(
      () =>
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: this.key(path),
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
          }),
        ),
      path,
      uploadId,
    );
    return { partNumber, etag: r.ETag! };
  }

  async completeMultipartUpload(path: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    const sorted = orderedParts(uploadId, parts);
    await this.guard(
      () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.key(path),
            UploadId: uploadId,
            MultipartUpload: {
              Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: `"${unquoteEtag(p.etag)}"` })),
            },
          }),
        ),
      path,
      uploadId,
    );
  }

  async abortMultipartUpload(path: string, uploadId: string): Promise<void> {
    await this.guard(
      () =>
        this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(path), UploadId: uploadId }),
        ),
      path,
      uploadId,
    );
  }

  /** Runs one SDK call, turning S3's error codes into the port's. */
  private async guard<T>(call: () => Promise<T>, path: string, uploadId?: string): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw mapS3Error(e, path, uploadId);
    }
  }
}

/** S3 error codes that are the caller's fault map to the port's codes; anything else stays internal. */
function mapS3Error(e: unknown, path: string, uploadId?: string): unknown {
  const name = (e as { name?: string }).name ?? "";
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === "NoSuchUpload") return uploadNotFound(uploadId ?? "");
  if (name === "NoSuchKey" || name === "NotFound" || (status === 404 && name !== "NoSuchBucket")) {
    return uploadId ? uploadNotFound(uploadId) : artifactNotFound(path);
  }
  if (name === "InvalidPart") {
    return new ArtifactError(
      "INVALID_PARAMETER_VALUE",
      `multipart upload '${uploadId}': a listed part or etag was not uploaded`,
    );
  }
  if (name === "EntityTooSmall") {
    return new ArtifactError(
      "INVALID_PARAMETER_VALUE",
      `multipart upload '${uploadId}': every part but the last must be at least ${MULTIPART_LIMITS.minPartSize} bytes`,
    );
  }
  if (name === "InvalidPartOrder" || name === "InvalidArgument") {
    return new ArtifactError(
      "INVALID_PARAMETER_VALUE",
      `S3 rejected the request for '${path}': ${(e as Error).message}`,
      undefined,
      { cause: e },
    );
  }
  return e;
}

/** Cuts a stream into Buffers of exactly `size` bytes (the last may be shorter; none is empty). */
async function* chunks(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    let buf: Buffer =
      typeof chunk === "string"
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Only the bytes that complete a part are copied; a big chunk is sliced, not re-copied.
    while (length + buf.length >= size) {
      const take = size - length;
      yield Buffer.concat([...pending, buf.subarray(0, take)], size);
      buf = buf.subarray(take);
      pending = [];
      length = 0;
    }
    if (buf.length > 0) {
      pending.push(buf);
      length += buf.length;
    }
  }
  if (length > 0) yield Buffer.concat(pending, length);
}
