import { ENV, ROLES } from "@keel/core";
import { consistencyCheckSchema } from "@keel/validation";
import type { App } from "sst/constructs";
import { z } from "zod";

/**
 * Everything that differs between stages, parsed once by zod. `sst.config.ts` holds the
 * per-stage table; a stage it does not name (a developer's own `--stage alice`) gets the
 * defaults below, which are safe to deploy and cheap to throw away.
 */
const onlineStoreSchema = z.discriminatedUnion("type", [
  /** Amazon Keyspaces, reached privately through a `cassandra` interface endpoint. */
  z.object({ type: z.literal("keyspaces") }),
  /** ScyllaDB Cloud: contact points in config, credentials in Secrets Manager. */
  z.object({
    type: z.literal("scylla"),
    contactPoints: z.array(z.string().min(1)).min(1),
    localDc: z.string().min(1),
    /** Name of an existing secret holding `{"username","password"}` (and `"ca"`, a PEM CA bundle, for a private CA). */
    credentialsSecretName: z.string().min(1),
    /** The nodes' TLS (client-to-node encryption) CQL port: connections to ScyllaDB always use TLS. */
    port: z.number().int().min(1).max(65535).default(9142),
  }),
]);

const servingSchema = z.discriminatedUnion("type", [
  /** An EC2 Auto Scaling group of GPU instances running Triton behind an internal NLB. */
  z.object({
    type: z.literal("asg"),
    instanceType: z.string().default("g5.xlarge"),
    minInstances: z.number().int().min(0).default(1),
    maxInstances: z.number().int().min(1).default(4),
    /** Target in-flight requests per instance for target tracking on the router's metric. */
    targetInFlightPerInstance: z.number().positive().default(32),
    tritonImage: z.string().default("nvcr.io/nvidia/tritonserver:25.01-py3"),
  }),
  /** The same Triton nodes as an EKS managed node group (the cluster runs the Triton pods). */
  z.object({
    type: z.literal("eks"),
    instanceType: z.string().default("g5.xlarge"),
    minInstances: z.number().int().min(0).default(1),
    maxInstances: z.number().int().min(1).default(4),
    kubernetesVersion: z.string().default("1.31"),
  }),
  /** A SageMaker real-time endpoint with Application Auto Scaling on invocations per instance. */
  z.object({
    type: z.literal("sagemaker"),
    instanceType: z.string().default("ml.g5.xlarge"),
    minInstances: z.number().int().min(1).default(1),
    maxInstances: z.number().int().min(1).default(4),
    targetInvocationsPerInstance: z.number().positive().default(200),
    /** Inference image (Triton's SageMaker image for the region). */
    image: z.string().min(1),
    /** S3 key under the artifact bucket of the model.tar.gz SageMaker loads. */
    modelDataKey: z.string().min(1).default("serving/sagemaker/model.tar.gz"),
  }),
]);

/** GPUs per instance for the instance types vLLM pools commonly run on (tensor parallel size). */
export const GPUS_PER_INSTANCE: Record<string, number> = {
  "g5.xlarge": 1,
  "g5.2xlarge": 1,
  "g5.4xlarge": 1,
  "g5.8xlarge": 1,
  "g5.12xlarge": 4,
  "g5.24xlarge": 4,
  "g5.48xlarge": 8,
  "g6.xlarge": 1,
  "g6.2xlarge": 1,
  "g6.12xlarge": 4,
  "g6.48xlarge": 8,
  "g6e.xlarge": 1,
  "g6e.12xlarge": 4,
  "g6e.48xlarge": 8,
  "p4d.24xlarge": 8,
  "p5.48xlarge": 8,
};

const vllmPoolSchema = z
  .object({
    instanceType: z.string().default("g5.12xlarge"),
    minInstances: z.number().int().min(0).default(0),
    maxInstances: z.number().int().min(1).default(2),
    image: z.string().default("vllm/vllm-openai:v0.11.0"),
    /** Weights under s3://<bucket>/llm/models/<model>/, served under this name. */
    model: z.string().regex(/^[A-Za-z0-9._-]+$/),
    /** LoRA adapters under s3://<bucket>/llm/adapters/<name>/, each served as its own model name. */
    adapters: z.array(z.string().regex(/^[A-Za-z0-9._-]+$/)).default([]),
    /** GPUs a replica spans; defaults to the instance type's GPU count. */
    tensorParallelSize: z.number().int().min(1).optional(),
    /** Target tracking on the pool's average GPU utilization (CloudWatch agent's NVIDIA metrics). */
    targetGpuUtilization: z.number().min(1).max(100).default(70),
    maxModelLen: z.number().int().min(256).optional(),
  })
  .transform((p, ctx) => {
    const tp = p.tensorParallelSize ?? GPUS_PER_INSTANCE[p.instanceType];
    if (!tp) {
      ctx.addIssue({
        code: "custom",
        message: `unknown GPU count for ${p.instanceType}: set llm.vllm.tensorParallelSize`,
        path: ["tensorParallelSize"],
      });
      return z.NEVER;
    }
    return { ...p, tensorParallelSize: tp };
  });

const llmSchema = z.object({
  /** A vLLM pool on GPU instances; none unless set (a stage may use Bedrock or SageMaker only). */
  vllm: vllmPoolSchema.optional(),
  /** Bedrock foundation model ids the gateway may invoke (IAM is scoped to exactly these). */
  bedrockModels: z.array(z.string().min(1)).default([]),
  /** SageMaker endpoint names the gateway may invoke with response streaming. */
  sagemakerEndpoints: z.array(z.string().min(1)).default([]),
});

const ragSettingsSchema = z.object({
  /**
   * Secrets Manager secret (name) holding a gateway virtual key for pipeline steps that ingest into
   * knowledge bases (`rag.ingest` has no caller whose token could go along): create one with
   * `keel llm key create --team <team> --name rag-ingest` and store it there; that team's budget pays for ingestion.
   */
  ingestKeySecretName: z.string().min(1).optional(),
});

/** One scheduled consistency check: a view, its EventBridge Scheduler expression and the check's options. */
const consistencyCheckSettingSchema = consistencyCheckSchema.extend({
  schedule: z.string().min(1).default("rate(1 day)"),
});

export const stageSettingsSchema = z.object({
  /** "retain" keeps data when a stage is removed; ephemeral stages use "destroy". */
  removal: z.enum(["retain", "destroy"]).default("destroy"),
  /** Audit export Object Lock retention in COMPLIANCE mode, in days (7 years = 2557). */
  auditRetentionDays: z.number().int().min(1).default(1),
  /**
   * OIDC issuer and audiences for the JWT authorizer. When absent the stage gets its own
   * Cognito user pool, so every stage deploys with no outside identity provider.
   */
  jwt: z.object({ issuer: z.string().url(), audience: z.array(z.string().min(1)).min(1) }).optional(),
  /** The JWT claim whose groups are Keel roles (unknown groups are ignored). */
  jwtGroupClaim: z.string().min(1).default("cognito:groups"),
  /** Roles every IAM (SigV4) caller holds; IAM callers are services and never approve. */
  iamRoles: z.array(z.enum(ROLES)).default(["data-scientist"]),
  vpc: z
    .object({ maxAzs: z.number().int().min(2).default(2), natGateways: z.number().int().min(1).default(1) })
    .default({ maxAzs: 2, natGateways: 1 }),
  onlineStore: onlineStoreSchema.default({ type: "keyspaces" }),
  /** EventBridge Scheduler expressions. */
  materializeSchedule: z.string().default("rate(1 hour)"),
  driftSchedule: z.string().default("rate(1 day)"),
  serving: servingSchema.default({
    type: "asg",
    instanceType: "g5.xlarge",
    minInstances: 0,
    maxInstances: 2,
    targetInFlightPerInstance: 32,
    tritonImage: "nvcr.io/nvidia/tritonserver:25.01-py3",
  }),
  llm: llmSchema.default({ bedrockModels: [], sagemakerEndpoints: [] }),
  rag: ragSettingsSchema.default({}),
  /** Training-serving skew checks run on a schedule (stacks/validation.ts, functions/consistency-check.ts). */
  consistencyChecks: z.array(consistencyCheckSettingSchema).default([]),
  logRetentionDays: z.union([z.literal(7), z.literal(30), z.literal(365), z.literal(3653)]).default(30),
});

export type StageSettingsInput = z.input<typeof stageSettingsSchema>;
export type StageSettings = z.output<typeof stageSettingsSchema>;

export function parseStageSettings(stage: string, input: StageSettingsInput = {}): StageSettings {
  const parsed = stageSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid settings for stage "${stage}": ${msg}`);
  }
  return parsed.data;
}

// Keyed by App so a test process may build several apps without them seeing each other's settings.
const settingsByApp = new WeakMap<App, StageSettings>();

export function setStageSettings(app: App, settings: StageSettings): void {
  settingsByApp.set(app, settings);
}

/** How the HTTP functions map verified callers to roles (read by `loadConfig`). */
export function identityEnv(
  settings: Pick<StageSettings, "jwtGroupClaim" | "iamRoles">,
): Record<string, string> {
  return { [ENV.JWT_GROUP_CLAIM]: settings.jwtGroupClaim, [ENV.IAM_ROLES]: settings.iamRoles.join(",") };
}

/** The settings `configureApp` stored for this app; a stack built without them is a wiring bug. */
export function stageSettings(app: App): StageSettings {
  const s = settingsByApp.get(app);
  if (!s)
    throw new Error(`no stage settings for app stage "${app.stage}": call configureApp(app, ...) first`);
  return s;
}
