/**
 * Environment variable names the stacks set that `@keel/core` ENV does not name yet. They are
 * listed once here so the domain engineers can move them into ENV (and `loadConfig`) verbatim.
 */
export const STACK_ENV = {
  AUDIT_EXPORT_BUCKET: "KEEL_AUDIT_EXPORT_BUCKET",
  CQL_PORT: "KEEL_CQL_PORT",
  /** `keyspaces` (TLS 9142 + SigV4) or `scylla` (username/password from the secret below). */
  CQL_FLAVOR: "KEEL_CQL_FLAVOR",
  CQL_CREDENTIALS_SECRET: "KEEL_CQL_CREDENTIALS_SECRET",
  GLUE_DATABASE: "KEEL_GLUE_DATABASE",
  ATHENA_WORKGROUP: "KEEL_ATHENA_WORKGROUP",
  /** Same names as @keel/serving's SERVING_ENV. */
  SCORING_QUEUE_URL: "KEEL_SCORING_QUEUE_URL",
  /** "false" in AWS: versions run on Triton or SageMaker, never ONNX Runtime inside a Lambda. */
  SERVING_IN_PROCESS: "KEEL_SERVING_IN_PROCESS",
  /** `kserve` (Triton over HTTP at SERVING_URL) or `sagemaker` (SAGEMAKER_ENDPOINT). */
  SERVING_BACKEND: "KEEL_SERVING_BACKEND",
  SERVING_URL: "KEEL_SERVING_URL",
  SAGEMAKER_ENDPOINT: "KEEL_SAGEMAKER_ENDPOINT",
  /** CloudWatch namespace/dimension of the router's in-flight gauge the GPU group scales on. */
  METRICS_NAMESPACE: "KEEL_METRICS_NAMESPACE",
  PREDICTION_LOG_ROOT: "KEEL_PREDICTION_LOG_ROOT",
  /** Where approved versions are published (@keel/serving SERVING_ENV.MODEL_PUBLISH_ROOT). */
  MODEL_PUBLISH_ROOT: "KEEL_MODEL_PUBLISH_ROOT",
} as const;

/** The router publishes `InFlightRequests` (Sum over 1 minute) here, dimension `Stage`. */
export const SERVING_METRICS = { namespace: "Keel/Serving", inFlight: "InFlightRequests" } as const;
