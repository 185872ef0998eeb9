import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { AUDIT_PK } from "@keel/audit";
import { pad } from "@keel/core";
import { z } from "zod";

/**
 * Copies every new audit event from the table's stream to the Object Lock bucket as
 * `audit/<seq zero-padded to 12>.json`. Keys are deterministic, so a retried batch rewrites
 * the same objects (a new version under Object Lock; the first version stays locked).
 */
const env = z.object({ KEEL_AUDIT_EXPORT_BUCKET: z.string().min(1) }).parse(process.env);
const s3 = new S3Client({});

interface StreamRecord {
  eventName?: string;
  dynamodb?: { NewImage?: Record<string, AttributeValue> };
}

export async function handler(event: { Records: StreamRecord[] }): Promise<void> {
  for (const record of event.Records) {
    // Audit items are only ever inserted; the stream filter already drops other partitions.
    if (record.eventName !== "INSERT" || !record.dynamodb?.NewImage) continue;
    const { pk, sk: _sk, ...item } = unmarshall(record.dynamodb.NewImage);
    if (pk !== AUDIT_PK) continue;
    const state = typeof item.state === "string" ? JSON.parse(item.state) : item.state;
    await s3.send(
      new PutObjectCommand({
        Bucket: env.KEEL_AUDIT_EXPORT_BUCKET,
        Key: `audit/${pad(Number(item.seq), 12)}.json`,
        Body: JSON.stringify({ ...item, state }),
        ContentType: "application/json",
        // Object Lock buckets reject writes without an integrity checksum.
        ChecksumAlgorithm: "SHA256",
      }),
    );
  }
}
