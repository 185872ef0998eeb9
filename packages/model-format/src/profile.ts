import { z } from "zod";
import { firstAtLeast } from "./sorted-search";

/**
 * The training-time distribution of every feature, stored as `baseline/profile.json` in the
 * run's artifacts. Drift monitoring compares live traffic to it: PSI over these bins, and a
 * two-sample KS test against `sample`.
 *
 * Bins: a value v belongs to the first bin b with v <= edges[b], else the last bin
 * (`counts.length === edges.length + 1`).
 */
export const BASELINE_PROFILE_ARTIFACT = "baseline/profile.json";

export const featureProfileSchema = z.object({
  name: z.string(),
  edges: z.array(z.number()),
  counts: z.array(z.number().int().nonnegative()),
  mean: z.number(),
  std: z.number(),
  min: z.number(),
  max: z.number(),
  /** A seeded uniform sample of training values, sorted ascending. */
  sample: z.array(z.number()),
});
export const baselineProfileSchema = z.object({
  version: z.literal(1),
  rows: z.number().int().positive(),
  features: z.array(featureProfileSchema).min(1),
});
export type FeatureProfile = z.infer<typeof featureProfileSchema>;
export type BaselineProfile = z.infer<typeof baselineProfileSchema>;

/** Index of the bin holding v (see `featureProfileSchema`). */
export function profileBin(edges: readonly number[], v: number): number {
  return firstAtLeast(edges, v);
}
