import { z } from "zod";

const kserveSpecSchema = z.object({
  type: z.literal("kserve"),
  url: z.string().url(),
  /** Model name on that server; defaults to the deployment version's model. */
  model: z.string().min(1).optional(),
  /** Model version on that server; defaults to the deployment version's version. */
  version: z.string().min(1).optional(),
});
const sagemakerSpecSchema = z.object({
  type: z.literal("sagemaker"),
  endpoint: z.string().min(1),
  variant: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
});

/** A backend an admin registers by name (`/api/v1/backends`): a remote serving system. */
export const remoteBackendSpecSchema = z.discriminatedUnion("type", [kserveSpecSchema, sagemakerSpecSchema]);

/** The built-in backend name for Keel's model server in this process (`{"type": "local"}`). */
export const IN_PROCESS_BACKEND = "in-process";

/**
 * Where a deployment's model version runs: `local` (the in-process model server, or the
 * stage's default backend where none runs), a backend an admin registered (`named`), or,
 * outside production only, a free-form kserve URL or SageMaker endpoint. A plain string is
 * shorthand for a registered backend's name (`"in-process"` = local).
 */
export const backendSpecSchema = z.preprocess(
  (v) =>
    typeof v === "string" ? (v === IN_PROCESS_BACKEND ? { type: "local" } : { type: "named", name: v }) : v,
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("local") }),
    z.object({ type: z.literal("named"), name: z.string().min(1).max(63) }),
    kserveSpecSchema,
    sagemakerSpecSchema,
  ]),
);

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

/** The prediction log's retention cap: the bucket's lifecycle rule expires the prefix after this many days. */
export const MAX_RETENTION_DAYS = 365;
/** Days the prediction log keeps a deployment's entries unless it sets `retention_days`. */
export const DEFAULT_RETENTION_DAYS = 30;

/** The prediction log's sampling rate when a deployment sets none: production logs a tenth of its requests. */
export const DEFAULT_SAMPLE_RATE = { production: 0.1, staging: 1 } as const;

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
  /**
   * Fraction of requests written to the prediction log. Unset at create: 0.1 in production,
   * 1 elsewhere (DEFAULT_SAMPLE_RATE); a request asking for an explanation is always logged.
   */
  sample_rate: z.number().min(0).max(1).optional(),
  /** Days the prediction log keeps this deployment's entries (swept at start locally; S3 lifecycle caps it at the maximum). */
  retention_days: z.number().int().min(1).max(MAX_RETENTION_DAYS).default(DEFAULT_RETENTION_DAYS),
  /**
   * Personal data among the inputs: input tensor names or feature names (of the feature
   * service) stored pseudonymized (keyed HMAC-SHA256) or dropped in the prediction log.
   * Features whose view is tagged `pii` are added to `fields` automatically.
   */
  pii: z
    .object({
      fields: z.array(z.string().min(1).max(256)).max(1024).default([]),
      mode: z.enum(["pseudonymize", "drop"]).default("pseudonymize"),
    })
    .optional(),
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
