import {
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type PutObjectCommandInput,
} from "@aws-sdk/client-s3";
import { canonicalJson, pad } from "@keel/core";
import { type Item, isConditionFailed, type MetadataStore } from "@keel/metadata";
import { AUDIT_PK, fromItem } from "./dynamodb-audit-log";
import type { AuditEvent, AuditLog } from "./port";

/** Where exported events go. Writing the same key again with the same body must be harmless. */
export interface AuditSink {
  /** Stores one event document under `key`; resolves once it is durable. */
  put(key: string, body: string): Promise<void>;
  /** The keys the sink holds that sort after `startAfter`, in ascending order (for the gap check). */
  keys?(startAfter?: string): AsyncIterable<string>;
}

/** The subset of S3Client the sink uses (a real S3Client satisfies it). */
export interface S3Sender {
  send(command: PutObjectCommand | ListObjectsV2Command): Promise<unknown>;
}

/**
 * Writes each event as one object into a bucket with Object Lock in compliance mode. The
 * bucket's default retention locks every object version; the SHA-256 checksum satisfies
 * Object Lock's integrity-header requirement and lets S3 reject a corrupted upload.
 */
export class S3AuditSink implements AuditSink {
  constructor(
    private readonly client: S3Sender,
    private readonly bucket: string,
    private readonly prefix = "audit/",
  ) {}

  async put(key: string, body: string): Promise<void> {
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: `${this.prefix}${key}`,
      Body: body,
      ContentType: "application/json",
      ChecksumAlgorithm: "SHA256",
    };
    await this.client.send(new PutObjectCommand(input));
  }

  /** ListObjectsV2 under the prefix (keys come back in ascending UTF-8 order), page by page. */
  async *keys(startAfter?: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = (await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix,
          StartAfter: startAfter === undefined ? undefined : `${this.prefix}${startAfter}`,
          ContinuationToken: token,
        }),
      )) as ListObjectsV2CommandOutput;
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key.slice(this.prefix.length);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}

export const EXPORT_CURSOR_KEY = { pk: "AUDIT_EXPORT", sk: "CURSOR" };

/**
 * The object key of an event (below the sink's prefix): its zero-padded sequence number, so
 * keys sort in chain order and a retried export rewrites the same key with the same body.
 */
export function exportKey(seq: number): string {
  return `${pad(seq, 12)}.json`;
}

/** The document exported for an event: canonical JSON of every field, state included. */
export function exportBody(e: AuditEvent): string {
  return canonicalJson(e);
}

/**
 * Exports audit items as a table stream delivers them (already unmarshalled): items of other
 * partitions are ignored. This is the path in AWS, where the stream invokes the export Lambda
 * for every insert; `exportAuditEvents` below is the catch-up path for events written before.
 */
export async function exportStreamItems(items: Item[], sink: AuditSink): Promise<number> {
  const events = items.filter((it) => it.pk === AUDIT_PK).map(fromItem);
  await Promise.all(events.map((e) => sink.put(exportKey(e.seq), exportBody(e))));
  return events.length;
}

export interface ExportOptions {
  audit: AuditLog;
  store: MetadataStore;
  sink: AuditSink;
  /** Stop after this many events (one Lambda invocation's budget). */
  maxEvents?: number;
  /** Objects written in parallel. */
  concurrency?: number;
}

/**
 * Catch-up export: copies events not yet exported to the sink, in sequence order, and advances a cursor item
 * after each batch with a write conditional on the cursor's previous value. Two exporters
 * running at once therefore never move the cursor backwards; the loser stops, and anything
 * it wrote twice is the same object with the same body.
 */
export async function exportAuditEvents(opts: ExportOptions): Promise<{ exported: number; lastSeq: number }> {
  const concurrency = opts.concurrency ?? 16;
  const maxEvents = opts.maxEvents ?? 10_000;
  const cursor = await opts.store.get(EXPORT_CURSOR_KEY);
  let lastSeq = Number(cursor?.lastSeq ?? 0);
  let exported = 0;
  let batch: AuditEvent[] = [];
  const flush = async (): Promise<boolean> => {
    await Promise.all(batch.map((e) => opts.sink.put(exportKey(e.seq), exportBody(e))));
    const next = batch[batch.length - 1].seq;
    try {
      await opts.store.put(
        { ...EXPORT_CURSOR_KEY, lastSeq: next },
        { condition: lastSeq === 0 ? { exists: false } : { path: "lastSeq", eq: lastSeq } },
      );
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
    exported += batch.length;
    lastSeq = next;
    batch = [];
    return true;
  };
  for await (const e of opts.audit.scan(lastSeq)) {
    batch.push(e);
    if (batch.length === concurrency && !(await flush())) return { exported, lastSeq };
    if (exported + batch.length >= maxEvents) break;
  }
  if (batch.length) await flush();
  return { exported, lastSeq };
}
