import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { createAuditExportSink } from "@keel/app";
import { exportStreamItems } from "@keel/audit";
import { loadConfig } from "@keel/core";
import type { Item } from "@keel/metadata";

/**
 * Invoked by the table's stream (filtered to inserts into the audit partition): copies each
 * new audit event to the Object Lock bucket (KEEL_AUDIT_EXPORT_BUCKET) as
 * `audit/<seq zero-padded to 12>.json`. Keys are deterministic, so a retried batch rewrites the
 * same objects (a new version under Object Lock; the first version stays locked).
 */
const sink = createAuditExportSink(loadConfig());

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
