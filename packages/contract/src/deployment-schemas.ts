import { z } from "zod";

/** Where a deployment's model version runs. */
export const backendSpecSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("local") }),
  z.object({
    type: z.literal("kserve"),
    url: z.string().url(),
    /** Model name on that server; defaults to the deployment version's model. */
    model: z.string().min(1).optional(),
    /** Model version on that server; defaults to the deployment version's version. */
    version: z.string().min(1).optional(),
  }),
  z.object({
    type: z.literal("sagemaker"),
    endpoint: z.string().min(1),
    variant: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
  }),
]);

/** A model version a deployment routes to, and where it runs. */
export const versionRefSchema = z.object({
  model: z.string().min(1),
  version: z.string().min(1),
  backend: backendSpecSchema.default({ type: "local" }),
});

export const analysisSchema = z.object({
  /** Look-back window compared between canary and stable. */
  window_s: z.number().int().positive().max(86_400).default(300),
  /** Canary requests needed before a decision. */
  min_requests: z.number().int().positive().default(20),
  /** Roll back when the canary's error rate exceeds stable's by more than this. */
  max_error_rate_increase: z.number().min(0).max(1).default(0.05),
  /** Roll back when the canary's p95 latency exceeds stable's times this... */
  max_latency_ratio: z.number().min(1).default(1.5),
  /** ...and by at least this many ms (latency buckets are coarse at the low end). */
  min_latency_delta_ms: z.number().min(0).default(10),
  /** Run the analysis periodically and apply its decision. */
  auto: z.boolean().default(false),
  interval_s: z.number().int().positive().default(30),
});

export const deploymentSettingsSchema = z.object({
  /** Production deployments only take versions the registry allows for "production". */
  environment: z.enum(["production", "staging"]).default("staging"),
  /** A request parameter whose value pins a caller to one side (sticky A/B); the x-keel-route-key header also works. */
  sticky_key: z.string().min(1).optional(),
  /** Feature enrichment: requests may carry `entities`; the router fetches this feature service into input `input`. */
  features: z
    .object({
      feature_service: z.string().min(1),
      input: z.string().min(1),
      full_feature_names: z.boolean().default(false),
      /** Value for a feature the online store lacks; absent = such a request is refused. */
      fill_missing: z.number().optional(),
    })
    .optional(),
  timeout_ms: z.number().int().positive().max(300_000).default(5_000),
  /** Resends after failures that certainly did not execute (503, connection refused). */
  retries: z.number().int().min(0).max(3).default(1),
  /** Client batches larger than this are split into concurrent backend calls. */
  max_chunk_rows: z.number().int().positive().max(65_536).default(64),
  /** Fraction of requests written to the prediction log. */
  sample_rate: z.number().min(0).max(1).default(1),
  analysis: analysisSchema.default(analysisSchema.parse({})),
});

const nameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.-]{0,62}$/,
    "must be 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

export const createDeploymentSchema = deploymentSettingsSchema.extend({
  name: nameSchema,
  model: z.string().min(1),
  version: z.string().min(1),
  backend: backendSpecSchema.optional(),
  shadow: versionRefSchema.optional(),
});

export const shiftSchema = z.object({
  /** Defaults to the stable version's model. */
  model: z.string().min(1).optional(),
  version: z.string().min(1),
  weight: z.number().min(0).max(100),
  backend: backendSpecSchema.optional(),
});

export const shadowSchema = z.object({
  model: z.string().min(1).optional(),
  version: z.string().min(1),
  backend: backendSpecSchema.optional(),
});

export const updateSettingsSchema = deploymentSettingsSchema.partial().strict();
