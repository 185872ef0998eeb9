import { driftReportSchema } from "@keel/contract";
import type { BaselineProfile } from "@keel/model-format";
import { z } from "zod";
import { ksTwoSample, meanStd, psi } from "./drift-stats";
import type { PredictionLogEntry } from "./prediction-log";

export const driftThresholdsSchema = z
  .object({ watch: z.number().positive().default(0.1), drift: z.number().positive().default(0.25) })
  .refine((t) => t.watch <= t.drift, "the watch threshold must not exceed the drift threshold");
export type DriftThresholds = z.output<typeof driftThresholdsSchema>;

export { driftReportSchema };
export type DriftReport = z.infer<typeof driftReportSchema>;

/**
 * The baseline features' values out of logged requests. A request is usable when its inputs
 * either name every baseline feature (one [N, 1] tensor each) or hold one tensor whose rows
 * have exactly the baseline's width (columns in the baseline's feature order, as Keel's
 * exported models take them). Missing (null) values are counted per feature, not used.
 */
export function featureColumns(
  baseline: BaselineProfile,
  entries: PredictionLogEntry[],
): { columns: number[][]; missing: number[]; rows: number; skipped: number } {
  const names = baseline.features.map((f) => f.name);
  const columns = names.map(() => [] as number[]);
  const missing = names.map(() => 0);
  let rows = 0;
  let skipped = 0;
  const add = (f: number, v: number | null) => {
    if (v === null) missing[f]++;
    else columns[f].push(v);
  };
  for (const e of entries) {
    const byName = names.map((n) => e.inputs[n]);
    const n0 = byName[0]?.length ?? 0;
    if (byName.every((t) => t && t.length === n0 && t.every((r) => r.length === 1))) {
      byName.forEach((t, f) => {
        for (const r of t) add(f, r[0]);
      });
      rows += n0;
      continue;
    }
    const tensor = Object.values(e.inputs).find(
      (t) => t.length > 0 && t.every((r) => r.length === names.length),
    );
    if (!tensor) {
      skipped++;
      continue;
    }
    for (const row of tensor) {
      for (let f = 0; f < row.length; f++) add(f, row[f]);
    }
    rows += tensor.length;
  }
  return { columns, missing, rows, skipped };
}

/** Compares a window of logged traffic with the training baseline, feature by feature. */
export function computeDriftReport(input: {
  id: string;
  deployment: string;
  baseline: BaselineProfile;
  entries: PredictionLogEntry[];
  from: number;
  to: number;
  createdAt: number;
  thresholds: DriftThresholds;
}): DriftReport {
  const { baseline, entries, thresholds } = input;
  const { columns, missing, rows, skipped } = featureColumns(baseline, entries);
  const models = new Map<string, { model: string; version: string; requests: number }>();
  for (const e of entries) {
    const key = `${e.model}\0${e.version}`;
    const m = models.get(key) ?? { model: e.model, version: e.version, requests: 0 };
    m.requests++;
    models.set(key, m);
  }
  const features =
    rows === 0
      ? []
      : baseline.features.map((fp, f) => {
          const values = columns[f];
          const total = fp.counts.reduce((a, b) => a + b, 0);
          const baselineView = { mean: fp.mean, std: fp.std, shares: fp.counts.map((c) => c / total) };
          if (values.length === 0) {
            const none = { mean: 0, std: 0, shares: fp.counts.map(() => 0) };
            return {
              name: fp.name,
              status: "no_data" as const,
              missing: missing[f],
              psi: 0,
              ks: { statistic: 0, pValue: 1 },
              edges: fp.edges,
              baseline: baselineView,
              current: none,
            };
          }
          const p = psi(fp.edges, fp.counts, values);
          const status = p.psi >= thresholds.drift ? "drift" : p.psi >= thresholds.watch ? "watch" : "ok";
          return {
            name: fp.name,
            status: status as "ok" | "watch" | "drift",
            missing: missing[f],
            psi: p.psi,
            ks: ksTwoSample(fp.sample, values),
            edges: fp.edges,
            baseline: baselineView,
            current: { ...meanStd(values), shares: p.shares },
          };
        });
  const rank = { no_data: -1, ok: 0, watch: 1, drift: 2 } as const;
  const worst = features.reduce<"ok" | "watch" | "drift">(
    (w, f) => (f.status !== "no_data" && rank[f.status] > rank[w] ? f.status : w),
    "ok",
  );
  return {
    id: input.id,
    deployment: input.deployment,
    createdAt: new Date(input.createdAt).toISOString(),
    window: { from: new Date(input.from).toISOString(), to: new Date(input.to).toISOString() },
    rows,
    skippedRequests: skipped,
    models: [...models.values()],
    thresholds: { watch: thresholds.watch, drift: thresholds.drift },
    status: rows === 0 ? "no_data" : worst,
    features,
  };
}
