import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { exportStreamItems, S3AuditSink } from "@keel/audit";
import type { Item } from "@keel/metadata";
import { z } from "zod";

/**
 * Invoked by the table's stream (filtered to inserts into the audit partition): copies each
 * new audit event to the Object Lock bucket as `audit/<seq zero-padded to 12>.json`. Keys are
 * deterministic, so a retried batch rewrites the same objects (a new version under Object
 * Lock; the first version stays locked).
 */
const env = z.object({ KEEL_AUDIT_EXPORT_BUCKET: z.string().min(1) }).parse(process.env);
const sink = new S3AuditSink(new S3Client({}), env.KEEL_AUDIT_EXPORT_BUCKET, "audit/");

interface StreamRecord {
  eventName?: string;
  dynamodb?: { NewImage?: Record<string, AttributeValue> };
}

export async function handler(event: { Records: StreamRecord[] }): Promise<{ exported: number }> {
  const items = event.Records.filter((r) => r.eventName === "INSERT" && r.dynamodb?.NewImage).map(
    (r) => unmarshall(r.dynamodb!.NewImage!) as Item,
  );
  return { exported: await exportStreamItems(items, sink) };
}
