import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { createAuditExportSink } from "@keel/app";
import { AUDIT_PK, auditMetricLine, exportStreamItems, ITEMS_CHANGED_METRIC } from "@keel/audit";
import { loadConfig } from "@keel/core";
import type { Item } from "@keel/metadata";

/**
 * Invoked by the table's stream (filtered to the audit partition): copies each new audit
 * event to the Object Lock bucket (KEEL_AUDIT_EXPORT_BUCKET) as
 * `audit/<seq zero-padded to 12>.json`. Keys are deterministic, so a retried batch rewrites the
 * same objects (a new version under Object Lock; the first version stays locked).
 *
 * An audit item that is modified (an overwriting PutItem) or removed is never legitimate: IAM
 * denies updates and deletes there, but cannot force the append's put condition. Each one is
 * logged with its key and counted in the `AuditItemsChanged` metric, which is alarmed on; the
 * locked export still holds the original.
 */
const config = loadConfig();
const sink = createAuditExportSink(config);

interface StreamRecord {
  eventName?: string;
  dynamodb?: { Keys?: Record<string, AttributeValue>; NewImage?: Record<string, AttributeValue> };
}

export async function handler(event: {
  Records: StreamRecord[];
}): Promise<{ exported: number; changed: number }> {
  const items = event.Records.filter((r) => r.eventName === "INSERT" && r.dynamodb?.NewImage).map(
    (r) => unmarshall(r.dynamodb!.NewImage!) as Item,
  );
  const changed = event.Records.filter(
    (r) => (r.eventName === "MODIFY" || r.eventName === "REMOVE") && r.dynamodb?.Keys,
  )
    .map((r) => ({ event: r.eventName, key: unmarshall(r.dynamodb!.Keys!) }))
    .filter((c) => c.key.pk === AUDIT_PK);
  if (changed.length) {
    process.stdout.write(
      `${auditMetricLine(config.core.stage, { [ITEMS_CHANGED_METRIC]: changed.length }, { changed })}\n`,
    );
    for (const c of changed)
      console.error(`audit item ${c.event === "REMOVE" ? "removed" : "overwritten"}: ${c.key.sk}`);
  }
  return { exported: await exportStreamItems(items, sink), changed: changed.length };
}
