/** The CloudWatch namespace of the audit export's metrics (alarms in the Storage stack). */
export const AUDIT_METRICS_NAMESPACE = "Keel/Audit";
/** Events the scheduled gap check found missing from the Object Lock bucket (copied) or from the table. */
export const EXPORT_GAPS_METRIC = "ExportGaps";
/** Audit items overwritten or removed in the table (seen on the stream): never legitimate. */
export const ITEMS_CHANGED_METRIC = "AuditItemsChanged";

/**
 * One CloudWatch embedded-metric-format log line (Lambda turns it into metrics with no API call
 * and no extra permission): the metrics under `Keel/Audit` with the stage as dimension, plus
 * `fields` kept in the log line (e.g. the missing sequence numbers).
 */
export function auditMetricLine(
  stage: string,
  metrics: Record<string, number>,
  fields: Record<string, unknown> = {},
  now = Date.now(),
): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: AUDIT_METRICS_NAMESPACE,
          Dimensions: [["Stage"]],
          Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: "Count" })),
        },
      ],
    },
    Stage: stage,
    ...fields,
    ...metrics,
  });
}
