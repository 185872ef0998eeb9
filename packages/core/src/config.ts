import { z } from "zod";

/**
 * Every environment variable Keel reads, named once. `loadConfig` parses them once at start;
 * nothing else reads process.env for configuration. The stacks (stacks/*.ts) import these
 * names, and tests/infra/config-vars.test.ts fails when a stack sets a `KEEL_*` variable that
 * is not listed here.
 */
export const ENV = {
  // core / metadata
  STAGE: "KEEL_STAGE",
  TABLE: "KEEL_TABLE",
  DYNAMODB_ENDPOINT: "KEEL_DYNAMODB_ENDPOINT",
  REGION: "AWS_REGION",
  DATA_DIR: "KEEL_DATA_DIR",
  LOG_LEVEL: "KEEL_LOG_LEVEL",
  // artifacts
  ARTIFACT_ROOT: "KEEL_ARTIFACT_ROOT",
  // features: online store
  ONLINE_STORE: "KEEL_ONLINE_STORE",
  CQL_CONTACT_POINTS: "KEEL_CQL_CONTACT_POINTS",
  CQL_PORT: "KEEL_CQL_PORT",
  /** `keyspaces` (TLS + SigV4), `scylla` or `cassandra` (username/password from CQL_CREDENTIALS_SECRET when set). */
  CQL_FLAVOR: "KEEL_CQL_FLAVOR",
  CQL_KEYSPACE: "KEEL_CQL_KEYSPACE",
  CQL_LOCAL_DC: "KEEL_CQL_LOCAL_DC",
  /** Secrets Manager secret id holding `{"username","password"}` for ScyllaDB Cloud / Cassandra auth. */
  CQL_CREDENTIALS_SECRET: "KEEL_CQL_CREDENTIALS_SECRET",
  /** `true`: TLS to ScyllaDB/Cassandra (required unless every contact point is loopback). */
  CQL_TLS: "KEEL_CQL_TLS",
  /** PEM file of the CA that signs the nodes' certificates (e.g. ScyllaDB Cloud's), added to the system CAs. */
  CQL_CA_FILE: "KEEL_CQL_CA_FILE",
  // features: offline store
  OFFLINE_ROOT: "KEEL_OFFLINE_ROOT",
  GLUE_DATABASE: "KEEL_GLUE_DATABASE",
  ATHENA_WORKGROUP: "KEEL_ATHENA_WORKGROUP",
  // serving
  MODEL_REPOSITORY: "KEEL_MODEL_REPOSITORY",
  SERVING_PROVIDER: "KEEL_SERVING_PROVIDER",
  SERVING_INTRA_OP_THREADS: "KEEL_SERVING_INTRA_OP_THREADS",
  SERVING_MAX_BODY_BYTES: "KEEL_SERVING_MAX_BODY_BYTES",
  SCORING_QUEUE_URL: "KEEL_SCORING_QUEUE_URL",
  /** "false" in AWS: no model server in process, only kserve/sagemaker backends. */
  SERVING_IN_PROCESS: "KEEL_SERVING_IN_PROCESS",
  /** Where versions with the default backend run when no model server runs in process. */
  SERVING_BACKEND: "KEEL_SERVING_BACKEND",
  SERVING_URL: "KEEL_SERVING_URL",
  SAGEMAKER_ENDPOINT: "KEEL_SAGEMAKER_ENDPOINT",
  /** CloudWatch namespace for the router's in-flight gauge (autoscaling); unset = not published. */
  METRICS_NAMESPACE: "KEEL_METRICS_NAMESPACE",
  /** Where approved versions are published (`s3://<bucket>/models/` in AWS); default: the local model repository. */
  MODEL_PUBLISH_ROOT: "KEEL_MODEL_PUBLISH_ROOT",
  // pipelines
  PIPELINE_EXECUTOR: "KEEL_PIPELINE_EXECUTOR",
  /** A project folder (`keel.project.ts` or `pipelines/index.ts`) whose pipelines are loaded at start. */
  PROJECT_DIR: "KEEL_PROJECT_DIR",
  // registry / governance
  AUTO_APPROVE_STAGES: "KEEL_AUTO_APPROVE_STAGES",
  // http
  /** Origins (scheme://host:port) besides the server's own that may send state-changing requests. */
  ALLOWED_ORIGINS: "KEEL_ALLOWED_ORIGINS",
  /** Host headers `keel dev` answers besides its bound host and localhost (DNS rebinding guard). */
  ALLOWED_HOSTS: "KEEL_ALLOWED_HOSTS",
  /** Requests one server process handles at once; one more is refused with 503 + Retry-After (0 = no limit). */
  MAX_IN_FLIGHT: "KEEL_MAX_IN_FLIGHT",
  /** `fixed` (default): at most KEEL_MAX_IN_FLIGHT at once; `adaptive`: a learned limit below it; `classes`: per route class; `front`: shed in the local server's listener (admission-front.ts). */
  ADMISSION: "KEEL_ADMISSION",
  /** `classes` admission: `class=limit[:queue]` per route class (inference, read, write, llm). */
  ADMISSION_LIMITS: "KEEL_ADMISSION_LIMITS",
  /** The queue's sojourn target (ms): `classes` refuses above it (default 25); `front` never sheds below it (default 5). */
  ADMISSION_TARGET_MS: "KEEL_ADMISSION_TARGET_MS",
  /** `classes` admission: the event loop's standing delay (ms, minimum over 250 ms) above which arrivals are refused (0 = not watched). */
  ADMISSION_LOOP_TARGET_MS: "KEEL_ADMISSION_LOOP_TARGET_MS",
  /** Median event-loop delay (ms) above which new requests are refused with 503 + Retry-After (0 = off). */
  MAX_EVENT_LOOP_LAG_MS: "KEEL_MAX_EVENT_LOOP_LAG_MS",
  // auth
  /** The JWT claim holding the caller's groups (Keel roles), per stage; default `cognito:groups`. */
  JWT_GROUP_CLAIM: "KEEL_JWT_GROUP_CLAIM",
  /** Roles every IAM (SigV4) caller holds, comma-separated; default `data-scientist`. */
  IAM_ROLES: "KEEL_IAM_ROLES",
  /** The console's OIDC sign-in (code flow + PKCE): the issuer, public client id and scopes. */
  OIDC_ISSUER: "KEEL_OIDC_ISSUER",
  OIDC_CLIENT_ID: "KEEL_OIDC_CLIENT_ID",
  OIDC_SCOPES: "KEEL_OIDC_SCOPES",
  // monitoring
  PREDICTION_LOG_ROOT: "KEEL_PREDICTION_LOG_ROOT",
  /** Secrets Manager secret id holding the prediction log's HMAC key (AWS); locally a 0600 file under the data dir. */
  PREDICTION_LOG_KEY_SECRET: "KEEL_PREDICTION_LOG_KEY_SECRET",
  // audit
  AUDIT_EXPORT_BUCKET: "KEEL_AUDIT_EXPORT_BUCKET",
  // rag
  /** Where knowledge bases' vector tables live (LanceDB): a directory or `s3://bucket/prefix`. */
  RAG_ROOT: "KEEL_RAG_ROOT",
  /** OpenAI-compatible base URL for embeddings and generation; default: the platform's own gateway (`/llm/v1`). */
  RAG_LLM_URL: "KEEL_RAG_LLM_URL",
  /** API key sent as `Authorization: Bearer` to RAG_LLM_URL. */
  RAG_LLM_API_KEY: "KEEL_RAG_LLM_API_KEY",
  /**
   * Secrets Manager secret (name or ARN) holding a gateway virtual key, used when RAG_LLM_API_KEY is
   * unset: the key pipeline steps (`rag.ingest` in the step Lambda) embed with, having no caller.
   */
  RAG_LLM_API_KEY_SECRET: "KEEL_RAG_LLM_API_KEY_SECRET",
  /** Base URL of a TEI-style `/rerank` endpoint; default: RAG_LLM_URL. */
  RAG_RERANK_URL: "KEEL_RAG_RERANK_URL",
  /** Who reranks: `http` (the TEI-style `/rerank` above) or `bedrock` (Bedrock's Rerank API in the region). */
  RAG_RERANK_PROVIDER: "KEEL_RAG_RERANK_PROVIDER",
  // llm gateway
  /** Routes from configuration: `<model>=<OpenAI-compatible base URL>,...` or a JSON array of routes. */
  LLM_UPSTREAMS: "KEEL_LLM_UPSTREAMS",
  /** Answers the gateway's exact cache keeps per process. */
  LLM_CACHE_MAX_ENTRIES: "KEEL_LLM_CACHE_MAX_ENTRIES",
  /** `on`: the gateway writes CloudWatch embedded-metric-format lines (AWS; the Llm stack sets it). */
  LLM_EMF: "KEEL_LLM_EMF",
  /** SNS topic for budget alerts (AWS); locally the alert stays an audit event. */
  LLM_ALERT_TOPIC_ARN: "KEEL_LLM_ALERT_TOPIC_ARN",
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** The default maximum request body of the inference routes (bytes). */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

const csv = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );
const optionalText = z.string().min(1).optional();

const coreSchema = z.object({
  stage: z.string().min(1).default("local"),
  region: z.string().default("us-east-1"),
  /** The metadata table (DynamoDB single table). */
  table: z.string().min(1).default("keel"),
  dynamodbEndpoint: z.string().url().optional(),
  dataDir: z.string().default("./.keel"),
  logLevel: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

const artifactsSchema = z.object({
  root: z.string().min(1).default("./.keel/artifacts"),
});

const featuresSchema = z.object({
  onlineStore: z.enum(["dynamodb", "cql"]).default("dynamodb"),
  cql: z.object({
    contactPoints: csv,
    port: z.coerce.number().int().min(1).max(65535).optional(),
    flavor: z.enum(["keyspaces", "scylla", "cassandra"]).default("cassandra"),
    keyspace: z.string().default("keel"),
    localDc: z.string().default("datacenter1"),
    credentialsSecret: optionalText,
    tls: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    caFile: optionalText,
  }),
});

const offlineSchema = z.object({
  /** Default `<dataDir>/offline` (DuckDB); an s3:// root means Athena over Glue. */
  root: optionalText,
  glueDatabase: optionalText,
  athenaWorkgroup: optionalText,
});

const servingSchema = z
  .object({
    modelRepository: optionalText,
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
    sagemakerEndpoint: optionalText,
    metricsNamespace: optionalText,
    modelPublishRoot: optionalText,
  })
  .check((ctx) => {
    const v = ctx.value;
    if (v.backend === "kserve" && !v.servingUrl)
      ctx.issues.push({
        code: "custom",
        input: v,
        path: ["servingUrl"],
        message: `required when ${ENV.SERVING_BACKEND}=kserve`,
      });
    if (v.backend === "sagemaker" && !v.sagemakerEndpoint)
      ctx.issues.push({
        code: "custom",
        input: v,
        path: ["sagemakerEndpoint"],
        message: `required when ${ENV.SERVING_BACKEND}=sagemaker`,
      });
  });

const pipelinesSchema = z.object({
  executor: z.enum(["local", "stepfunctions"]).default("local"),
  projectDir: optionalText,
});

const registrySchema = z.object({ autoApproveStages: csv });
const monitoringSchema = z.object({
  /** Where the prediction log lives (`s3://bucket/prefix` or a directory); default `predictions/` in the artifact store. */
  predictionLogRoot: optionalText,
  predictionLogKeySecret: optionalText,
});
const auditSchema = z.object({ exportBucket: optionalText });
const ragSchema = z.object({
  /** Default `<dataDir>/rag`. */
  root: optionalText,
  llmUrl: z.string().url().optional(),
  llmApiKey: optionalText,
  llmApiKeySecret: optionalText,
  rerankUrl: z.string().url().optional(),
  rerankProvider: z.enum(["http", "bedrock"]).default("http"),
});
const llmSchema = z.object({
  upstreams: optionalText,
  cacheMaxEntries: z.coerce.number().int().min(1).default(10_000),
  emf: z.enum(["on", "off"]).default("off"),
  alertTopicArn: optionalText,
});
const httpSchema = z.object({
  allowedOrigins: csv,
  allowedHosts: csv,
  maxInFlight: z.coerce.number().int().min(0).default(256),
  admission: z.enum(["adaptive", "fixed", "classes", "front"]).default("fixed"),
  admissionLimits: optionalText,
  admissionTargetMs: z.coerce.number().min(0).optional(),
  admissionLoopTargetMs: z.coerce.number().min(0).default(25),
  maxEventLoopLagMs: z.coerce.number().int().min(0).default(0),
});
const authSchema = z.object({
  jwtGroupClaim: z.string().min(1).default("cognito:groups"),
  /** Roles every IAM (SigV4) caller holds. */
  iamRoles: z
    .string()
    .default("data-scientist")
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  /** The identity provider the console signs people in with (OIDC code flow with PKCE). */
  oidcIssuer: z.string().url().optional(),
  oidcClientId: optionalText,
  oidcScopes: z.string().default("openid email profile"),
});

export const configSchema = z.object({
  core: coreSchema,
  artifacts: artifactsSchema,
  features: featuresSchema,
  offline: offlineSchema,
  serving: servingSchema,
  pipelines: pipelinesSchema,
  registry: registrySchema,
  monitoring: monitoringSchema,
  audit: auditSchema,
  rag: ragSchema,
  http: httpSchema,
  auth: authSchema,
  llm: llmSchema,
});

export type KeelConfig = z.infer<typeof configSchema>;
export type ServingConfig = KeelConfig["serving"];
export type FeaturesConfig = KeelConfig["features"];

/** Per-section overrides layered on the environment (tests, `keel dev`). */
export type ConfigOverrides = { [S in keyof KeelConfig]?: Partial<KeelConfig[S]> };

/** Layers per-section overrides: later ones win field by field within a section. */
export function mergeConfigOverrides(...layers: ConfigOverrides[]): ConfigOverrides {
  const out: Record<string, Record<string, unknown>> = {};
  for (const layer of layers)
    for (const [section, values] of Object.entries(layer)) out[section] = { ...out[section], ...values };
  return out as ConfigOverrides;
}

/**
 * Where each setting comes from: section -> field -> variable name. The raw input of the
 * schema is built from this table, and a parse error names the variable, not the field.
 */
export const CONFIG_VARS = {
  core: {
    stage: ENV.STAGE,
    region: ENV.REGION,
    table: ENV.TABLE,
    dynamodbEndpoint: ENV.DYNAMODB_ENDPOINT,
    dataDir: ENV.DATA_DIR,
    logLevel: ENV.LOG_LEVEL,
  },
  artifacts: { root: ENV.ARTIFACT_ROOT },
  features: { onlineStore: ENV.ONLINE_STORE },
  "features.cql": {
    contactPoints: ENV.CQL_CONTACT_POINTS,
    port: ENV.CQL_PORT,
    flavor: ENV.CQL_FLAVOR,
    keyspace: ENV.CQL_KEYSPACE,
    localDc: ENV.CQL_LOCAL_DC,
    credentialsSecret: ENV.CQL_CREDENTIALS_SECRET,
    tls: ENV.CQL_TLS,
    caFile: ENV.CQL_CA_FILE,
  },
  offline: { root: ENV.OFFLINE_ROOT, glueDatabase: ENV.GLUE_DATABASE, athenaWorkgroup: ENV.ATHENA_WORKGROUP },
  serving: {
    modelRepository: ENV.MODEL_REPOSITORY,
    provider: ENV.SERVING_PROVIDER,
    intraOpNumThreads: ENV.SERVING_INTRA_OP_THREADS,
    maxBodyBytes: ENV.SERVING_MAX_BODY_BYTES,
    scoringQueueUrl: ENV.SCORING_QUEUE_URL,
    inProcess: ENV.SERVING_IN_PROCESS,
    backend: ENV.SERVING_BACKEND,
    servingUrl: ENV.SERVING_URL,
    sagemakerEndpoint: ENV.SAGEMAKER_ENDPOINT,
    metricsNamespace: ENV.METRICS_NAMESPACE,
    modelPublishRoot: ENV.MODEL_PUBLISH_ROOT,
  },
  pipelines: { executor: ENV.PIPELINE_EXECUTOR, projectDir: ENV.PROJECT_DIR },
  registry: { autoApproveStages: ENV.AUTO_APPROVE_STAGES },
  monitoring: {
    predictionLogRoot: ENV.PREDICTION_LOG_ROOT,
    predictionLogKeySecret: ENV.PREDICTION_LOG_KEY_SECRET,
  },
  audit: { exportBucket: ENV.AUDIT_EXPORT_BUCKET },
  rag: {
    root: ENV.RAG_ROOT,
    llmUrl: ENV.RAG_LLM_URL,
    llmApiKey: ENV.RAG_LLM_API_KEY,
    llmApiKeySecret: ENV.RAG_LLM_API_KEY_SECRET,
    rerankUrl: ENV.RAG_RERANK_URL,
    rerankProvider: ENV.RAG_RERANK_PROVIDER,
  },
  http: {
    allowedOrigins: ENV.ALLOWED_ORIGINS,
    allowedHosts: ENV.ALLOWED_HOSTS,
    maxInFlight: ENV.MAX_IN_FLIGHT,
    admission: ENV.ADMISSION,
    admissionLimits: ENV.ADMISSION_LIMITS,
    admissionTargetMs: ENV.ADMISSION_TARGET_MS,
    admissionLoopTargetMs: ENV.ADMISSION_LOOP_TARGET_MS,
    maxEventLoopLagMs: ENV.MAX_EVENT_LOOP_LAG_MS,
  },
  auth: {
    jwtGroupClaim: ENV.JWT_GROUP_CLAIM,
    iamRoles: ENV.IAM_ROLES,
    oidcIssuer: ENV.OIDC_ISSUER,
    oidcClientId: ENV.OIDC_CLIENT_ID,
    oidcScopes: ENV.OIDC_SCOPES,
  },
  llm: {
    upstreams: ENV.LLM_UPSTREAMS,
    cacheMaxEntries: ENV.LLM_CACHE_MAX_ENTRIES,
    emf: ENV.LLM_EMF,
    alertTopicArn: ENV.LLM_ALERT_TOPIC_ARN,
  },
} as const;

/** Every variable loadConfig reads. */
export const CONFIG_VAR_NAMES: ReadonlySet<string> = new Set(
  Object.values(CONFIG_VARS).flatMap((section) => Object.values(section)),
);

/** Variables whose empty value means "set, and empty" (an empty list), not "unset". */
const EMPTY_IS_A_VALUE = new Set<string>([ENV.AUTO_APPROVE_STAGES]);

function readSection(
  env: Record<string, string | undefined>,
  vars: Record<string, string>,
): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(vars).map(([field, name]) => {
      const v = env[name];
      return [field, v === "" && !EMPTY_IS_A_VALUE.has(name) ? undefined : v];
    }),
  );
}

function variableAt(path: PropertyKey[]): string | undefined {
  const [section, field, sub] = path.map(String);
  if (section === "features" && field === "cql") return CONFIG_VARS["features.cql"][sub as "port"];
  return (CONFIG_VARS as unknown as Record<string, Record<string, string>>)[section]?.[field];
}

/**
 * Parses Keel's configuration once, at start: one section per area. A bad value fails with the
 * variable's name. `overrides` (per section) win over the environment.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: ConfigOverrides = {},
): KeelConfig {
  const raw = {
    core: readSection(env, CONFIG_VARS.core),
    artifacts: readSection(env, CONFIG_VARS.artifacts),
    features: {
      ...readSection(env, CONFIG_VARS.features),
      cql: readSection(env, CONFIG_VARS["features.cql"]),
    },
    offline: readSection(env, CONFIG_VARS.offline),
    serving: readSection(env, CONFIG_VARS.serving),
    pipelines: readSection(env, CONFIG_VARS.pipelines),
    registry: readSection(env, CONFIG_VARS.registry),
    monitoring: readSection(env, CONFIG_VARS.monitoring),
    audit: readSection(env, CONFIG_VARS.audit),
    rag: readSection(env, CONFIG_VARS.rag),
    http: readSection(env, CONFIG_VARS.http),
    auth: readSection(env, CONFIG_VARS.auth),
    llm: readSection(env, CONFIG_VARS.llm),
  };
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const msg = parsed.error.issues
      .map((i) => `${variableAt(i.path) ?? i.path.join(".")}: ${i.message}`)
      .join("; ");
    throw new Error(`invalid Keel configuration: ${msg}`);
  }
  const config = parsed.data;
  for (const [section, values] of Object.entries(overrides)) {
    const key = section as keyof KeelConfig;
    (config as Record<string, unknown>)[key] = { ...config[key], ...values };
  }
  return config;
}
