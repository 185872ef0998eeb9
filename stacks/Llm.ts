import { Duration } from "aws-cdk-lib";
import { Dashboard, GraphWidget, MathExpression, Metric, TextWidget } from "aws-cdk-lib/aws-cloudwatch";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { FunctionUrlAuthType, InvokeMode } from "aws-cdk-lib/aws-lambda";
import { Topic } from "aws-cdk-lib/aws-sns";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { type StackContext, use } from "sst/constructs";
import { ENV, LLM_METRICS } from "./env";
import { grantPrefix, grantTable, keelFunction, platformEnv, scheduleFunction } from "./functions";
import { GPU_METRICS, vllmPool } from "./llm-pool";
import { Network } from "./Network";
import { suppress } from "./nag";
import { ragRuntime } from "./rag-runtime";
import { PREFIX, Storage } from "./Storage";
import { identityEnv, type StageSettings, stageSettings } from "./settings";

type LlmSettings = StageSettings["llm"];

/**
 * The routes a stage's settings imply: the vLLM pool's model and each LoRA adapter (vLLM serves
 * an adapter as its own model name), each Bedrock model, and each SageMaker endpoint, by name.
 */
export function stageRoutes(llm: LlmSettings, poolUrl: string | undefined, region: string) {
  const vllm = llm.vllm && poolUrl ? [llm.vllm.model, ...llm.vllm.adapters] : [];
  return [
    ...vllm.map((model) => ({
      model,
      deployments: [{ id: "vllm", provider: "openai", model, baseURL: `${poolUrl}/v1` }],
    })),
    ...llm.bedrockModels.map((model) => ({
      model,
      deployments: [{ id: "bedrock", provider: "bedrock", model, region }],
    })),
    ...llm.sagemakerEndpoints.map((endpoint) => ({
      model: endpoint,
      deployments: [{ id: "sagemaker", provider: "sagemaker", model: endpoint, endpoint, region }],
    })),
  ];
}

/**
 * The LLM gateway for a stage: a Lambda with response streaming behind a function URL (API
 * Gateway's HTTP APIs buffer responses, which would hold every token until the end), in the
 * VPC next to the vLLM pool; the gateway verifies virtual keys itself there. Bedrock and
 * SageMaker access is scoped to exactly the models and endpoints the stage's settings name.
 * Optionally a vLLM pool on GPU instances, and a dashboard of tokens, cost, time to first
 * token, tokens/s, errors and GPU use.
 */
export function Llm({ stack, app }: StackContext) {
  const settings = stageSettings(app);
  const { vpc, lambdaSg, privateSubnets } = use(Network);
  const { table, bucket, key, accessLogs } = use(Storage);
  const llm = settings.llm;

  const pool = llm.vllm
    ? vllmPool({ scope: stack, vpc, subnets: privateSubnets, lambdaSg, bucket, key, accessLogs }, llm.vllm)
    : undefined;

  // Budget alerts (thresholds of a team's budget) are published here; subscribe the FinOps list.
  const alerts = new Topic(stack, "LlmBudgetAlerts", { enforceSSL: true, masterKey: key });

  const gateway = keelFunction(stack, "LlmGatewayFn", {
    handler: "functions/llm.handler",
    description: "Keel LLM gateway (OpenAI-compatible /llm/v1, streaming)",
    memorySize: 1024,
    // A long generation streams for minutes; the function URL allows up to 15.
    timeout: 900,
    vpc,
    vpcSubnets: privateSubnets,
    securityGroups: [lambdaSg],
    // `rag:<kb>` models and the semantic cache open LanceDB (no PDFs are read here).
    ...ragRuntime({ pdf: false }),
    environment: {
      ...platformEnv(app.stage, table, bucket, PREFIX.artifacts),
      ...identityEnv(settings),
      // Knowledge bases (`rag:<kb>`) and semantic-cache entries: the stage's LanceDB on S3. No
      // KEEL_RAG_LLM_URL here: RAG's embedding and chat calls go to this gateway in process.
      [ENV.RAG_ROOT]: `s3://${bucket.bucketName}/${PREFIX.rag}`,
      // The stage's upstreams as gateway routes (more are added as data through /api/v1/llm/routes).
      [ENV.LLM_UPSTREAMS]: JSON.stringify(stageRoutes(llm, pool?.url, stack.region)),
      // CloudWatch metrics as EMF lines in the log (the dashboard below graphs them).
      [ENV.LLM_EMF]: "on",
      [ENV.LLM_ALERT_TOPIC_ARN]: alerts.topicArn,
    },
  });
  alerts.grantPublish(gateway);
  suppress(gateway, [
    [
      "AwsSolutions-IAM5",
      "Publishing to the KMS-encrypted alert topic needs the data key's GenerateDataKey* (CDK's SNS grant), scoped to the stage's key.",
      ["Action::kms:GenerateDataKey*"],
    ],
  ]);
  // Keys, limits, budgets and usage live in the platform table; the usage log also as Parquet.
  grantTable(gateway, table, key, "readwrite");
  grantPrefix(gateway, bucket, key, PREFIX.llmUsage, "readwrite");
  // The usage log's Parquet copy (`llm/usage/date=...`) in the artifact store.
  grantPrefix(gateway, bucket, key, `${PREFIX.artifacts}llm/`, "readwrite");
  // Semantic-cache entries are written, knowledge bases read, under rag/.
  grantPrefix(gateway, bucket, key, PREFIX.rag, "readwrite");

  // Stored prompts past their retention are purged hourly (and at each gateway cold start).
  const purge = keelFunction(stack, "LlmPurgeFn", {
    handler: "functions/llm-purge.handler",
    description: "Keel LLM gateway: purge stored prompts past their retention",
    timeout: 300,
    vpc,
    vpcSubnets: privateSubnets,
    securityGroups: [lambdaSg],
    environment: { ...platformEnv(app.stage, table, bucket, PREFIX.artifacts), ...identityEnv(settings) },
  });
  grantTable(purge, table, key, "readwrite");
  const purgeDlq = new Queue(stack, "LlmPurgeDlq", {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  suppress(purgeDlq, [["AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the schedule."]]);
  scheduleFunction(stack, "LlmPurgeSchedule", purge, {
    expression: "rate(1 hour)",
    description: "Purges stored LLM prompts past their retention",
    deadLetterQueue: purgeDlq,
    maxEventAge: Duration.hours(1),
  });
  if (llm.bedrockModels.length > 0)
    gateway.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        // Converse and ConverseStream are authorized as InvokeModel / InvokeModelWithResponseStream.
        actions: ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
        resources: llm.bedrockModels.map(
          (id) => `arn:${stack.partition}:bedrock:${stack.region}::foundation-model/${id}`,
        ),
      }),
    );
  if (llm.sagemakerEndpoints.length > 0)
    gateway.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
        resources: llm.sagemakerEndpoints.map(
          (name) =>
            `arn:${stack.partition}:sagemaker:${stack.region}:${stack.account}:endpoint/${name.toLowerCase()}`,
        ),
      }),
    );
  const url = gateway.addFunctionUrl({
    authType: FunctionUrlAuthType.NONE,
    invokeMode: InvokeMode.RESPONSE_STREAM,
  });

  const llmMetric = (metricName: string, statistic: string, label: string) =>
    new Metric({
      namespace: LLM_METRICS.namespace,
      metricName,
      dimensionsMap: { Stage: app.stage },
      statistic,
      label,
      period: Duration.minutes(1),
    });
  const dashboard = new Dashboard(stack, "LlmDashboard", { dashboardName: `keel-${app.stage}-llm` });
  dashboard.addWidgets(
    new TextWidget({ markdown: `# Keel ${app.stage}: LLM gateway`, width: 24, height: 1 }),
    new GraphWidget({
      title: "Tokens per minute",
      left: [
        llmMetric(LLM_METRICS.tokensIn, "Sum", "prompt"),
        llmMetric(LLM_METRICS.tokensOut, "Sum", "completion"),
      ],
      width: 8,
    }),
    new GraphWidget({
      title: "Cost (USD per minute)",
      left: [llmMetric(LLM_METRICS.cost, "Sum", "cost")],
      width: 8,
    }),
    new GraphWidget({
      title: "Time to first token (ms)",
      left: [llmMetric(LLM_METRICS.ttft, "p50", "p50"), llmMetric(LLM_METRICS.ttft, "p99", "p99")],
      width: 8,
    }),
    new GraphWidget({
      title: "Tokens per second (per stream)",
      left: [llmMetric(LLM_METRICS.tokensPerSecond, "p50", "p50")],
      width: 8,
    }),
    new GraphWidget({
      title: "Request duration (ms)",
      left: [llmMetric(LLM_METRICS.duration, "p50", "p50"), llmMetric(LLM_METRICS.duration, "p99", "p99")],
      width: 8,
    }),
    new GraphWidget({
      title: "Requests and cache hits",
      left: [
        llmMetric(LLM_METRICS.requests, "Sum", "requests"),
        llmMetric(LLM_METRICS.cacheHits, "Sum", "cache hits"),
      ],
      width: 8,
    }),
    new GraphWidget({
      title: "Upstream errors and fallbacks",
      left: [
        llmMetric(LLM_METRICS.upstreamErrors, "Sum", "errors"),
        llmMetric(LLM_METRICS.fallbacks, "Sum", "fallbacks"),
      ],
      right: [
        gateway.metricErrors({ label: "gateway errors" }),
        gateway.metricThrottles({ label: "throttles" }),
      ],
      width: 8,
    }),
  );
  if (pool) {
    const gpu = (metricName: string, label: string) =>
      new Metric({
        namespace: GPU_METRICS.namespace,
        metricName,
        dimensionsMap: { AutoScalingGroupName: pool.asg.autoScalingGroupName },
        statistic: "Average",
        label,
        period: Duration.minutes(1),
      });
    dashboard.addWidgets(
      new GraphWidget({
        title: "vLLM pool GPU utilization (%)",
        left: [gpu(GPU_METRICS.utilization, "GPU")],
        width: 8,
      }),
      new GraphWidget({
        title: "vLLM pool GPU memory used (MiB)",
        left: [gpu(GPU_METRICS.memoryUsed, "memory used")],
        width: 8,
      }),
      new GraphWidget({
        title: "vLLM instances in service",
        left: [
          new MathExpression({
            expression: "m",
            usingMetrics: {
              m: new Metric({
                namespace: "AWS/AutoScaling",
                metricName: "GroupInServiceInstances",
                dimensionsMap: { AutoScalingGroupName: pool.asg.autoScalingGroupName },
                statistic: "Average",
              }),
            },
            label: "in service",
          }),
        ],
        width: 8,
      }),
    );
  }

  // The OpenAI-compatible base URL: RAG in the Api and Pipelines stacks calls it (KEEL_RAG_LLM_URL).
  const gatewayUrl = `${url.url}llm/v1`;
  stack.addOutputs({ LlmGatewayUrl: gatewayUrl, ...(pool ? { VllmPoolUrl: pool.url } : {}) });
  return { gateway, gatewayUrl, pool, alerts };
}
