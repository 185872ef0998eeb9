import { createAuditExportSink, createMetadataStore } from "@keel/app";
import { auditMetricLine, EXPORT_GAPS_METRIC, exportMissing, StoreAuditLog } from "@keel/audit";
import { loadConfig } from "@keel/core";

/**
 * Run hourly by the Storage stack's schedule: the gap check of the Object Lock export. Copies
 * every audit event (older than the stream's grace period) that the bucket lacks, and logs one
 * embedded-metric line: `ExportGaps` (copied plus missing-from-table, alarmed on) with the
 * sequence numbers named, so the alarm leads straight to them.
 */
const config = loadConfig();
const sink = createAuditExportSink(config);
const store = createMetadataStore(config);
const audit = new StoreAuditLog(store);

export async function handler(): Promise<unknown> {
  const r = await exportMissing({ audit, store, sink });
  const gaps = r.copied.length + r.missingInTable.length;
  const line = auditMetricLine(
    config.core.stage,
    { [EXPORT_GAPS_METRIC]: gaps },
    { copiedSeqs: r.copied, missingInTableSeqs: r.missingInTable, reconciledSeq: r.reconciledSeq },
  );
  // Written raw (no Lambda log prefix) so CloudWatch extracts the metric from the JSON line.
  process.stdout.write(`${line}\n`);
  if (gaps > 0)
    console.error(
      `audit export gap check: copied missing events [${r.copied.join(", ")}]; ` +
        `absent from the table [${r.missingInTable.join(", ")}]`,
    );
  return {
    checked: r.checked,
    copied: r.copied,
    missingInTable: r.missingInTable,
    reconciledSeq: r.reconciledSeq,
  };
}
