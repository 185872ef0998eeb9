import { z } from "zod";
import type { BackendSpec } from "./backends/inference-backend";
import { DEFAULT_MAX_BODY_BYTES } from "./kserve-routes";

/** Environment variables the serving area reads, named once. */
export const SERVING_ENV = {
  MODEL_REPOSITORY: "KEEL_MODEL_REPOSITORY",
  PROVIDER: "KEEL_SERVING_PROVIDER",
  INTRA_OP_THREADS: "KEEL_SERVING_INTRA_OP_THREADS",
  MAX_BODY_BYTES: "KEEL_SERVING_MAX_BODY_BYTES",
  SCORING_QUEUE_URL: "KEEL_SCORING_QUEUE_URL",
  /** "false" in the router Lambda: no model server in process, only kserve/sagemaker backends. */
  IN_PROCESS: "KEEL_SERVING_IN_PROCESS",
  /** Where versions with the default backend run when there is no model server in process. */
  BACKEND: "KEEL_SERVING_BACKEND",
  SERVING_URL: "KEEL_SERVING_URL",
  SAGEMAKER_ENDPOINT: "KEEL_SAGEMAKER_ENDPOINT",
  /** Where approved versions are published (`s3://<bucket>/models/` in AWS); default: the local model repository. */
  MODEL_PUBLISH_ROOT: "KEEL_MODEL_PUBLISH_ROOT",
  /** CloudWatch namespace for the router's in-flight gauge (autoscaling); unset = not published. */
  METRICS_NAMESPACE: "KEEL_METRICS_NAMESPACE",
} as const;

const servingConfigSchema = z.object({
  modelRepository: z.string().min(1).optional(),
  provider: z.enum(["cpu", "webgpu"]).default("cpu"),
  intraOpNumThreads: z.coerce.number().int().min(0).default(0),
  maxBodyBytes: z.coerce.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
  scoringQueueUrl: z.string().url().optional(),
  inProcess: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
  backend: z.enum(["kserve", "sagemaker"]).optional(),
  servingUrl: z.string().url().optional(),
  sagemakerEndpoint: z.string().min(1).optional(),
  metricsNamespace: z.string().min(1).optional(),
  modelPublishRoot: z.string().min(1).optional(),
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
    inProcess: env[SERVING_ENV.IN_PROCESS] || undefined,
    backend: env[SERVING_ENV.BACKEND] || undefined,
    servingUrl: env[SERVING_ENV.SERVING_URL] || undefined,
    sagemakerEndpoint: env[SERVING_ENV.SAGEMAKER_ENDPOINT] || undefined,
    metricsNamespace: env[SERVING_ENV.METRICS_NAMESPACE] || undefined,
    modelPublishRoot: env[SERVING_ENV.MODEL_PUBLISH_ROOT] || undefined,
  });
  if (!r.success) {
    const names: Record<string, string> = {
      modelRepository: SERVING_ENV.MODEL_REPOSITORY,
      provider: SERVING_ENV.PROVIDER,
      intraOpNumThreads: SERVING_ENV.INTRA_OP_THREADS,
      maxBodyBytes: SERVING_ENV.MAX_BODY_BYTES,
      scoringQueueUrl: SERVING_ENV.SCORING_QUEUE_URL,
      inProcess: SERVING_ENV.IN_PROCESS,
      backend: SERVING_ENV.BACKEND,
      servingUrl: SERVING_ENV.SERVING_URL,
      sagemakerEndpoint: SERVING_ENV.SAGEMAKER_ENDPOINT,
      metricsNamespace: SERVING_ENV.METRICS_NAMESPACE,
      modelPublishRoot: SERVING_ENV.MODEL_PUBLISH_ROOT,
    };
    throw new Error(
      `invalid serving configuration: ${r.error.issues.map((i) => `${names[String(i.path[0])] ?? i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  if (r.data.backend === "kserve" && !r.data.servingUrl)
    throw new Error(
      `invalid serving configuration: ${SERVING_ENV.SERVING_URL} is required when ${SERVING_ENV.BACKEND}=kserve`,
    );
  if (r.data.backend === "sagemaker" && !r.data.sagemakerEndpoint) {
    throw new Error(
      `invalid serving configuration: ${SERVING_ENV.SAGEMAKER_ENDPOINT} is required when ${SERVING_ENV.BACKEND}=sagemaker`,
    );
  }
  return r.data;
}

/** The backend that versions deployed with the default ("local") backend use when no model server runs in process. */
export function defaultBackendOf(c: ServingConfig): BackendSpec | undefined {
  if (c.backend === "kserve" && c.servingUrl) return { type: "kserve", url: c.servingUrl };
  if (c.backend === "sagemaker" && c.sagemakerEndpoint)
    return { type: "sagemaker", endpoint: c.sagemakerEndpoint };
  return undefined;
}
