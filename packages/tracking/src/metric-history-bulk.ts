import { invalidParam } from "./errors";
import { comparePoints, jsonValue } from "./metric-values";
import type { TrackingContext } from "./tracking-context";

/** MLflow's `get_metric_history_bulk_handler` bounds. */
export const BULK_HISTORY = { maxResults: 25_000, maxRunIds: 100 } as const;

export interface BulkHistoryRequest {
  run_id?: string | string[];
  metric_key?: string;
  max_results?: string;
}

export interface MetricWithRunId {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
  run_id: string;
}

/**
 * The MLflow UI's `metrics/get-history-bulk`: every point of one metric for up to 100 runs,
 * runs in id order, each run's points by (timestamp, step, value), at most `max_results`
 * (default and cap 25000) per run and in all. Checked with MLflow's messages before any read.
 */
export async function getMetricHistoryBulk(
  ctx: TrackingContext,
  r: BulkHistoryRequest,
): Promise<{ metrics: MetricWithRunId[] }> {
  const runIds = r.run_id === undefined ? [] : Array.isArray(r.run_id) ? r.run_id : [r.run_id];
  if (runIds.length === 0) {
    throw invalidParam("GetMetricHistoryBulk request must specify at least one run_id.");
  }
  if (runIds.length > BULK_HISTORY.maxRunIds) {
    throw invalidParam(
      `GetMetricHistoryBulk request cannot specify more than ${BULK_HISTORY.maxRunIds} run_ids.` +
        ` Received ${runIds.length} run_ids.`,
    );
  }
  const key = r.metric_key;
  if (key === undefined) throw invalidParam("GetMetricHistoryBulk request must specify a metric_key.");
  const asked = r.max_results === undefined ? BULK_HISTORY.maxResults : Number(r.max_results);
  if (!Number.isInteger(asked)) throw invalidParam(`Invalid value '${r.max_results}' for max_results.`);
  const max = Math.max(0, Math.min(asked, BULK_HISTORY.maxResults));
  const out: MetricWithRunId[] = [];
  for (const runId of [...new Set(runIds)].sort()) {
    const points = [...(await ctx.history.read(runId, key))]
      .sort((a, b) => a[1] - b[1] || comparePoints(a, b))
      .slice(0, max);
    for (const [step, timestamp, v] of points) {
      out.push({ key, value: jsonValue(v), timestamp, step, run_id: runId });
    }
  }
  return { metrics: out.slice(0, max) };
}
