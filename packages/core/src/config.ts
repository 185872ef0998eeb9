import { z } from "zod";

/**
 * Every environment variable Keel reads, named once. `loadConfig` parses them once at start;
 * nothing else reads process.env for configuration.
 */
export const ENV = {
  STAGE: "KEEL_STAGE",
  TABLE: "KEEL_TABLE",
  DYNAMODB_ENDPOINT: "KEEL_DYNAMODB_ENDPOINT",
  REGION: "AWS_REGION",
  ARTIFACT_ROOT: "KEEL_ARTIFACT_ROOT",
  DATA_DIR: "KEEL_DATA_DIR",
  ONLINE_STORE: "KEEL_ONLINE_STORE",
  CQL_CONTACT_POINTS: "KEEL_CQL_CONTACT_POINTS",
  CQL_KEYSPACE: "KEEL_CQL_KEYSPACE",
  CQL_LOCAL_DC: "KEEL_CQL_LOCAL_DC",
  /** Secrets Manager secret id holding `{"username","password"}` for ScyllaDB Cloud / Cassandra auth. */
  CQL_CREDENTIALS_SECRET: "KEEL_CQL_CREDENTIALS_SECRET",
  OFFLINE_ROOT: "KEEL_OFFLINE_ROOT",
  PIPELINE_EXECUTOR: "KEEL_PIPELINE_EXECUTOR",
  AUTO_APPROVE_STAGES: "KEEL_AUTO_APPROVE_STAGES",
  LOG_LEVEL: "KEEL_LOG_LEVEL",
  /** Secrets Manager secret id holding the prediction log's HMAC key (AWS); locally a 0600 file under the data dir. */
  PREDICTION_LOG_KEY_SECRET: "KEEL_PREDICTION_LOG_KEY_SECRET",
} as const;

const csv = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );

export const configSchema = z.object({
  stage: z.string().min(1).default("local"),
  table: z.string().min(1).default("keel"),
  dynamodbEndpoint: z.string().url().optional(),
  region: z.string().default("us-east-1"),
  artifactRoot: z.string().min(1).default("./.keel/artifacts"),
  dataDir: z.string().default("./.keel"),
  onlineStore: z.enum(["dynamodb", "cql"]).default("dynamodb"),
  cqlContactPoints: csv,
  cqlKeyspace: z.string().default("keel"),
  cqlLocalDc: z.string().default("datacenter1"),
  cqlCredentialsSecret: z.string().min(1).optional(),
  offlineRoot: z.string().optional(),
  pipelineExecutor: z.enum(["local", "stepfunctions"]).default("local"),
  autoApproveStages: csv,
  predictionLogKeySecret: z.string().min(1).optional(),
});

export type KeelConfig = z.infer<typeof configSchema>;

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<KeelConfig> = {},
): KeelConfig {
  const parsed = configSchema.safeParse({
    stage: env[ENV.STAGE],
    table: env[ENV.TABLE],
    dynamodbEndpoint: env[ENV.DYNAMODB_ENDPOINT],
    region: env[ENV.REGION],
    artifactRoot: env[ENV.ARTIFACT_ROOT],
    dataDir: env[ENV.DATA_DIR],
    onlineStore: env[ENV.ONLINE_STORE],
    cqlContactPoints: env[ENV.CQL_CONTACT_POINTS],
    cqlKeyspace: env[ENV.CQL_KEYSPACE],
    cqlLocalDc: env[ENV.CQL_LOCAL_DC],
    cqlCredentialsSecret: env[ENV.CQL_CREDENTIALS_SECRET] || undefined,
    offlineRoot: env[ENV.OFFLINE_ROOT],
    pipelineExecutor: env[ENV.PIPELINE_EXECUTOR],
    autoApproveStages: env[ENV.AUTO_APPROVE_STAGES],
    predictionLogKeySecret: env[ENV.PREDICTION_LOG_KEY_SECRET] || undefined,
  });
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid Keel configuration: ${msg}`);
  }
  return { ...parsed.data, ...overrides };
}
