import { Duration } from "aws-cdk-lib";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { type Function as SstFunction, type StackContext, use } from "sst/constructs";
import { ENV, SERVING_METRICS } from "./env";
import { Features } from "./Features";
import { grantKey, grantPrefix, grantTable, keelFunction, platformEnv } from "./functions";
import { type BackendContext, gpuBackend } from "./gpu-backends";
import { Network } from "./Network";
import { suppress } from "./nag";
import { PREFIX, Storage } from "./Storage";
import { identityEnv, stageSettings } from "./settings";

/**
 * Inference for a stage: the router Lambda (in the VPC, next to the GPU nodes and the online
 * store; the Api stack routes `/v2/{proxy+}` to it), one GPU backend chosen per stage (Triton
 * on an Auto Scaling group, on an EKS managed node group, or a SageMaker endpoint), and the
 * SQS scoring queue with its batching consumer for asynchronous requests.
 */
export function Serving({ stack, app }: StackContext) {
  const settings = stageSettings(app);
  const { vpc, lambdaSg, privateSubnets } = use(Network);
  const { table, bucket, key, accessLogs } = use(Storage);
  const features = use(Features);
  const ctx: BackendContext = {
    scope: stack,
    stage: app.stage,
    vpc,
    subnets: privateSubnets,
    lambdaSg,
    bucket,
    key,
    accessLogs,
  };

  const backend = gpuBackend(ctx, settings.serving);

  const dlq = new Queue(stack, "ScoringDlq", {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  suppress(dlq, [["AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the scoring queue."]]);
  const consumerTimeout = 120;
  const queue = new Queue(stack, "ScoringQueue", {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    // AWS guidance: at least six times the consumer's timeout, so retries never overlap a run.
    visibilityTimeout: Duration.seconds(consumerTimeout * 6),
    deadLetterQueue: { queue: dlq, maxReceiveCount: 5 },
  });

  // The prediction log's HMAC key for inputs tagged `pii`: fetched once per function instance.
  const logKey = new Secret(stack, "PredictionLogKey", {
    description: `Keel ${app.stage}: HMAC key pseudonymizing personal data in the prediction log`,
    // Secrets Manager's own key: the data key lives in the Storage stack, whose key policy
    // granting these roles would make the two stacks depend on each other.
    generateSecretString: { passwordLength: 64, excludePunctuation: true },
  });
  suppress(logKey, [
    [
      "AwsSolutions-SMG4",
      "Rotating the pseudonymization key breaks linkability of logged pseudonyms; it is rotated deliberately, not on a schedule.",
    ],
  ]);

  const servingEnv = {
    [ENV.PREDICTION_LOG_KEY_SECRET]: logKey.secretArn,
    ...platformEnv(app.stage, table, bucket, PREFIX.artifacts),
    ...features.onlineEnv,
    ...backend.env,
    [ENV.METRICS_NAMESPACE]: SERVING_METRICS.namespace,
    [ENV.PREDICTION_LOG_ROOT]: `s3://${bucket.bucketName}/${PREFIX.predictions}`,
    [ENV.SCORING_QUEUE_URL]: queue.queueUrl,
    [ENV.SERVING_IN_PROCESS]: "false",
    ...identityEnv(settings),
  };
  const inVpc = { vpc, vpcSubnets: privateSubnets, securityGroups: [lambdaSg] };

  const router = keelFunction(stack, "RouterFn", {
    handler: "functions/router.handler",
    description: "KServe v2 router: traffic split, shadow, enrichment, prediction log",
    memorySize: 1769,
    timeout: 29,
    ...inVpc,
    environment: servingEnv,
  });
  const consumer = keelFunction(stack, "ScoringConsumerFn", {
    handler: "functions/scoring-consumer.handler",
    description: "Scores queued requests in batches through the router's backends",
    memorySize: 1769,
    timeout: consumerTimeout,
    ...inVpc,
    environment: servingEnv,
  });
  consumer.addEventSource(
    new SqsEventSource(queue, {
      batchSize: 100,
      // Wait up to 5 s to fill a batch: GPU throughput comes from batching.
      maxBatchingWindow: Duration.seconds(5),
      reportBatchItemFailures: true,
      maxConcurrency: 10,
    }),
  );

  for (const fn of [router, consumer]) {
    // Deployments (traffic splits) are read from the table and per-version outcome counters
    // (canary analysis) written back; predictions are appended to the log in S3.
    grantTable(fn, table, key, "readwrite");
    grantPrefix(fn, bucket, key, PREFIX.predictions, "readwrite");
    logKey.grantRead(fn);
    features.grantOnline(fn);
    backend.allow(fn);
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ["cloudwatch:PutMetricData"],
        resources: ["*"],
        conditions: { StringEquals: { "cloudwatch:namespace": SERVING_METRICS.namespace } },
      }),
    );
  }
  grantEnqueue(router);

  stack.addOutputs({ ScoringQueueUrl: queue.queueUrl, ServingBackend: settings.serving.type });
  // The API's serving module enqueues too, and like the router never runs models in process.
  // It also publishes approved versions into the Triton repository (models/) the GPU nodes sync.
  const apiEnv = {
    [ENV.SCORING_QUEUE_URL]: queue.queueUrl,
    [ENV.SERVING_IN_PROCESS]: "false",
    [ENV.MODEL_PUBLISH_ROOT]: `s3://${bucket.bucketName}/${PREFIX.models}`,
    [ENV.PREDICTION_LOG_KEY_SECRET]: logKey.secretArn,
  };
  return { router, consumer, queue, dlq, grantEnqueue, apiEnv, logKey };

  /** Lets a function submit asynchronous scoring requests (SendMessage with the queue's key). */
  function grantEnqueue(fn: SstFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ["sqs:SendMessage"],
        resources: [queue.queueArn],
      }),
    );
    grantKey(fn, key, "readwrite");
  }
}
