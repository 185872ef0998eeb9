import { z } from "zod";
import { DEFAULT_MAX_BODY_BYTES } from "./kserve-routes";

/** Environment variables the serving area reads, named once. */
export const SERVING_ENV = {
  MODEL_REPOSITORY: "KEEL_MODEL_REPOSITORY",
  PROVIDER: "KEEL_SERVING_PROVIDER",
  INTRA_OP_THREADS: "KEEL_SERVING_INTRA_OP_THREADS",
  MAX_BODY_BYTES: "KEEL_SERVING_MAX_BODY_BYTES",
  SCORING_QUEUE_URL: "KEEL_SCORING_QUEUE_URL",
} as const;

const servingConfigSchema = z.object({
  modelRepository: z.string().min(1).optional(),
  provider: z.enum(["cpu", "webgpu"]).default("cpu"),
  intraOpNumThreads: z.coerce.number().int().min(0).default(0),
  maxBodyBytes: z.coerce.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
  scoringQueueUrl: z.string().url().optional(),
});
export type ServingConfig = z.infer<typeof servingConfigSchema>;

/** Parses the serving settings once at start; a bad value fails with the variable's name. */
export function loadServingConfig(env: Record<string, string | undefined> = process.env): ServingConfig {
  const r = servingConfigSchema.safeParse({
    modelRepository: env[SERVING_ENV.MODEL_REPOSITORY] || undefined,
    provider: env[SERVING_ENV.PROVIDER] || undefined,
    intraOpNumThreads: env[SERVING_ENV.INTRA_OP_THREADS] || undefined,
    maxBodyBytes: env[SERVING_ENV.MAX_BODY_BYTES] || undefined,
    scoringQueueUrl: env[SERVING_ENV.SCORING_QUEUE_URL] || undefined,
  });
  if (!r.success) {
    const names: Record<string, string> = { modelRepository: SERVING_ENV.MODEL_REPOSITORY, provider: SERVING_ENV.PROVIDER, intraOpNumThreads: SERVING_ENV.INTRA_OP_THREADS, maxBodyBytes: SERVING_ENV.MAX_BODY_BYTES, scoringQueueUrl: SERVING_ENV.SCORING_QUEUE_URL };
    throw new Error(`invalid serving configuration: ${r.error.issues.map((i) => `${names[String(i.path[0])] ?? i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return r.data;
}
