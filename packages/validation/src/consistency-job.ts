import type { ArtifactStore } from "@keel/artifacts";
import { parseWith } from "@keel/core";
import type { ConsistencyReport, ConsistencyRequest } from "@keel/features";
import type { PipelineTracking } from "@keel/pipelines";
import { z } from "zod";
import { experimentId } from "./record";

/** One scheduled skew check (the stage setting `consistencyChecks`, and the schedule's input). */
export const consistencyCheckSchema = z.strictObject({
  /** The online feature view to check. */
  view: z.string().min(1),
  /** Entities sampled per run. */
  sample: z.number().int().min(1).max(100_000).default(1000),
  /** The largest per-feature mismatch rate that passes. */
  threshold: z.number().min(0).max(1).default(0),
  /** Relative tolerance for numbers. */
  tolerance: z.number().min(0).optional(),
  seed: z.number().int().optional(),
});
export type ConsistencyCheck = z.output<typeof consistencyCheckSchema>;

/** Tags of a consistency run (experiment `consistency/<view>`). */
export const CONSISTENCY_TAG = {
  view: "keel.consistency.view",
  status: "keel.consistency.status",
  report: "keel.consistency.report",
} as const;
export const CONSISTENCY_ALERT_ACTION = "features.consistency.alert";

export interface ConsistencyJobDeps {
  features: { checkConsistency(req: ConsistencyRequest): Promise<ConsistencyReport> };
  artifacts: ArtifactStore;
  tracking: PipelineTracking;
  audit: { append(e: { action: string; resource: string; state?: unknown }): Promise<unknown> };
  now(): number;
}

export interface ConsistencyJobResult {
  view: string;
  passed: boolean;
  mismatchRate: number;
  sampled: number;
  trackingRunId: string;
  reportUri: string;
  /** Whether an alert (audit event) was raised: some feature's mismatch rate over the threshold. */
  alerted: boolean;
}

const metricKey = (s: string) => s.replace(/[^A-Za-z0-9_\-. /]/g, "_");

/**
 * The scheduled training-serving skew check (functions/consistency-check.ts): runs the
 * features service's check, records the report as a tracking run in `consistency/<view>`
 * (metrics per feature, the JSON report as an artifact) and, when a feature's mismatch rate is
 * over the threshold, appends a `features.consistency.alert` audit event naming the features.
 * A failing check is a finding, not an error: the job returns normally so the schedule does not
 * retry it; an error (store unreachable) throws.
 */
export async function runConsistencyJob(
  deps: ConsistencyJobDeps,
  input: unknown,
): Promise<ConsistencyJobResult> {
  const check = parseWith(consistencyCheckSchema, input, "consistency check");
  const report = await deps.features.checkConsistency(check);
  const at = deps.now();
  const exp = await experimentId(deps.tracking, `consistency/${check.view}`);
  const status = report.passed
    ? `passed: ${report.sampled} entities`
    : `failed: ${report.features.filter((f) => f.mismatchRate > report.threshold).length} feature(s) over ${report.threshold}`;
  const { run } = await deps.tracking.createRun({
    experiment_id: exp,
    run_name: `${check.view}-${new Date(at).toISOString()}`,
    start_time: at - report.durationMs,
    tags: [
      { key: CONSISTENCY_TAG.view, value: check.view },
      { key: CONSISTENCY_TAG.status, value: status },
    ],
  });
  const runId = run.info.run_id;
  const path = `${exp}/${runId}/artifacts/consistency/report.json`;
  await deps.artifacts.put(path, Buffer.from(JSON.stringify(report, null, 2)), {
    contentType: "application/json",
  });
  const reportUri = deps.artifacts.uri(path);
  const metrics: Record<string, number> = {
    "consistency.passed": report.passed ? 1 : 0,
    "consistency.mismatch_rate": report.mismatchRate,
    "consistency.sampled": report.sampled,
    "consistency.entities": report.entities,
    "consistency.duration_ms": report.durationMs,
  };
  for (const f of report.features) {
    metrics[metricKey(`feature.${f.name}.mismatch_rate`)] = f.mismatchRate;
    metrics[metricKey(`feature.${f.name}.missing`)] = f.missing;
    metrics[metricKey(`feature.${f.name}.stale`)] = f.stale;
    metrics[metricKey(`feature.${f.name}.different`)] = f.different;
  }
  const entries = Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: at, step: 0 }));
  for (let i = 0; i < entries.length; i += 1000)
    await deps.tracking.logBatch({ run_id: runId, metrics: entries.slice(i, i + 1000) });
  await deps.tracking.logBatch({ run_id: runId, tags: [{ key: CONSISTENCY_TAG.report, value: reportUri }] });
  await deps.tracking.updateRun({
    run_id: runId,
    status: report.passed ? "FINISHED" : "FAILED",
    end_time: at,
  });
  if (!report.passed)
    await deps.audit.append({
      action: CONSISTENCY_ALERT_ACTION,
      resource: `feature_view:${check.view}`,
      state: {
        trackingRunId: runId,
        report: reportUri,
        threshold: report.threshold,
        sampled: report.sampled,
        features: report.features
          .filter((f) => f.mismatchRate > report.threshold)
          .map((f) => ({
            name: f.name,
            mismatchRate: f.mismatchRate,
            missing: f.missing,
            stale: f.stale,
            different: f.different,
          })),
      },
    });
  return {
    view: check.view,
    passed: report.passed,
    mismatchRate: report.mismatchRate,
    sampled: report.sampled,
    trackingRunId: runId,
    reportUri,
    alerted: !report.passed,
  };
}
