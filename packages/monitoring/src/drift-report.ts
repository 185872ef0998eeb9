import type { BaselineProfile } from "@keel/train";
import { z } from "zod";
import { ksTwoSample, meanStd, psi } from "./drift-stats";
import type { PredictionLogEntry } from "./prediction-log";

export const driftThresholdsSchema = z
  .object({ watch: z.number().positive().default(0.1), drift: z.number().positive().default(0.25) })
  .refine((t) => t.watch <= t.drift, "the watch threshold must not exceed the drift threshold");
export type DriftThresholds = z.output<typeof driftThresholdsSchema>;

const statusSchema = z.enum(["ok", "watch", "drift"]);
export const driftReportSchema = z.object({
  id: z.string(),
  deployment: z.string(),
  createdAt: z.string(),
  window: z.object({ from: z.string(), to: z.string() }),
  /** Logged rows in the window that carried the baseline's features. */
  rows: z.number().int(),
  /** Logged requests in the window whose inputs did not match the baseline's features. */
  skippedRequests: z.number().int(),
  models: z.array(z.object({ model: z.string(), version: z.string(), requests: z.number().int() })),
  thresholds: z.object({ watch: z.number(), drift: z.number() }),
  /** Worst feature status; "no_data" when the window held no usable rows. */
  status: z.enum(["ok", "watch", "drift", "no_data"]),
  features: z.array(
    z.object({
      name: z.string(),
      status: statusSchema,
      psi: z.number(),
      ks: z.object({ statistic: z.number(), pValue: z.number() }),
      edges: z.array(z.number()),
      baseline: z.object({ mean: z.number(), std: z.number(), shares: z.array(z.number()) }),
      current: z.object({ mean: z.number(), std: z.number(), shares: z.array(z.number()) }),
    }),
  ),
  retraining: z
    .object({ triggered: z.boolean(), runId: z.string().optional(), error: z.string().optional() })
    .optional(),
});
export type DriftReport = z.infer<typeof driftReportSchema>;

/**
 * The baseline features' values out of logged requests. A request is usable when its inputs
 * either name every baseline feature (one [N, 1] tensor each) or hold one tensor whose rows
 * have exactly the baseline's width (columns in the baseline's feature order, as Keel's
 * exported models take them).
 */
export function featureColumns(
  baseline: BaselineProfile,
  entries: PredictionLogEntry[],
): { columns: number[][]; skipped: number } {
  const names = baseline.features.map((f) => f.name);
  const columns = names.map(() => [] as number[]);
  let skipped = 0;
  for (const e of entries) {
    if (names.every((n) => e.inputs[n])) {
      const rows = e.inputs[names[0]].length;
      if (names.every((n) => e.inputs[n].length === rows && e.inputs[n].every((r) => r.length === 1))) {
        names.forEach((n, f) => {
          for (const r of e.inputs[n]) columns[f].push(r[0]);
        });
        continue;
      }
    }
    const tensor = Object.values(e.inputs).find(
      (t) => t.length > 0 && t.every((r) => r.length === names.length),
    );
    if (!tensor) {
      skipped++;
      continue;
    }
    for (const row of tensor) {
      for (let f = 0; f < row.length; f++) columns[f].push(row[f]);
    }
  }
  return { columns, skipped };
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
  const { columns, skipped } = featureColumns(baseline, entries);
  const rows = columns[0]?.length ?? 0;
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
          const p = psi(fp.edges, fp.counts, values);
          const total = fp.counts.reduce((a, b) => a + b, 0);
          const status: "ok" | "watch" | "drift" =
            p.psi >= thresholds.drift ? "drift" : p.psi >= thresholds.watch ? "watch" : "ok";
          return {
            name: fp.name,
            status,
            psi: p.psi,
            ks: ksTwoSample(fp.sample, values),
            edges: fp.edges,
            baseline: { mean: fp.mean, std: fp.std, shares: fp.counts.map((c) => c / total) },
            current: { ...meanStd(values), shares: p.shares },
          };
        });
  const rank = { ok: 0, watch: 1, drift: 2 } as const;
  const worst = features.reduce<"ok" | "watch" | "drift">(
    (w, f) => (rank[f.status] > rank[w] ? f.status : w),
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
