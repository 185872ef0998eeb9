import { CfnScalingPolicy } from "aws-cdk-lib/aws-autoscaling";
import { UserData } from "aws-cdk-lib/aws-ec2";
import { ManagedPolicy } from "aws-cdk-lib/aws-iam";
import { type GpuPool, type GpuPoolContext, gpuPool } from "./gpu-pool";
import { suppress } from "./nag";
import { PREFIX } from "./Storage";
import type { StageSettings } from "./settings";

type VllmSettings = NonNullable<StageSettings["llm"]["vllm"]>;
export const VLLM_PORT = 8000;
/** Where the CloudWatch agent publishes the NVIDIA GPU metrics the pool scales on. */
export const GPU_METRICS = {
  namespace: "CWAgent",
  utilization: "nvidia_smi_utilization_gpu",
  memoryUsed: "nvidia_smi_memory_used",
} as const;

/**
 * Boot script: the CloudWatch agent with its NVIDIA GPU metrics (per Auto Scaling group), the
 * model's weights and LoRA adapters synced from S3, then vLLM's OpenAI-compatible server on
 * them. Request logging is off: prompts may carry personal data, and the gateway is the one
 * place that logs usage (redacted).
 */
export function vllmUserData(bucketName: string, s: VllmSettings): UserData {
  const userData = UserData.forLinux();
  const adapters = s.adapters.map((a) => `${a}=/models/adapters/${a}`).join(" ");
  const args = [
    `--model /models/${s.model}`,
    `--served-model-name ${s.model}`,
    `--tensor-parallel-size ${s.tensorParallelSize}`,
    ...(s.maxModelLen ? [`--max-model-len ${s.maxModelLen}`] : []),
    ...(s.adapters.length
      ? ["--enable-lora", `--max-loras ${s.adapters.length}`, `--lora-modules ${adapters}`]
      : []),
    "--disable-log-requests",
  ];
  userData.addCommands(
    "set -euo pipefail",
    "dnf install -y amazon-cloudwatch-agent",
    "cat > /opt/aws/amazon-cloudwatch-agent/etc/keel-gpu.json <<'EOF'",
    JSON.stringify({
      agent: { metrics_collection_interval: 60 },
      metrics: {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudWatch agent placeholder, not a JS template
        append_dimensions: { AutoScalingGroupName: "${aws:AutoScalingGroupName}" },
        aggregation_dimensions: [["AutoScalingGroupName"]],
        metrics_collected: {
          nvidia_gpu: { measurement: ["utilization_gpu", "memory_used", "memory_total", "temperature_gpu"] },
        },
      },
    }),
    "EOF",
    "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s " +
      "-c file:/opt/aws/amazon-cloudwatch-agent/etc/keel-gpu.json",
    `mkdir -p /opt/keel/llm/${s.model} /opt/keel/llm/adapters`,
    `aws s3 sync --only-show-errors s3://${bucketName}/${PREFIX.llmModels}${s.model}/ /opt/keel/llm/${s.model}/`,
    ...s.adapters.map(
      (a) =>
        `aws s3 sync --only-show-errors s3://${bucketName}/${PREFIX.llmAdapters}${a}/ /opt/keel/llm/adapters/${a}/`,
    ),
    `docker run -d --restart=always --gpus all --ipc=host --name vllm -p ${VLLM_PORT}:8000 ` +
      `-v /opt/keel/llm:/models ${s.image} ${args.join(" ")}`,
  );
  return userData;
}

/**
 * A vLLM pool on the GPU node group pattern Triton uses (stacks/gpu-pool.ts), scaled by target
 * tracking on the group's average GPU utilization.
 */
export function vllmPool(ctx: GpuPoolContext, s: VllmSettings): GpuPool {
  const pool = gpuPool(ctx, {
    ids: {
      nodeSg: "VllmNodeSg",
      nlbSg: "VllmNlbSg",
      role: "VllmNodeRole",
      launchTemplate: "VllmLaunchTemplate",
      topic: "VllmScalingEvents",
      asg: "VllmNodes",
      nlb: "VllmNlb",
      logPrefix: "vllm-nlb",
    },
    what: "vLLM",
    port: VLLM_PORT,
    healthPath: "/health",
    instanceType: s.instanceType,
    minInstances: s.minInstances,
    maxInstances: s.maxInstances,
    userData: vllmUserData(ctx.bucket.bucketName, s),
    readPrefixes: [PREFIX.llmModels, PREFIX.llmAdapters],
    warmupSeconds: 1200, // image pull (~10 GB) + weights from S3 + CUDA graph capture
    diskGiB: 500,
  });
  pool.role.addManagedPolicy(ManagedPolicy.fromAwsManagedPolicyName("CloudWatchAgentServerPolicy"));
  suppress(pool.role, [
    [
      "AwsSolutions-IAM4",
      "CloudWatchAgentServerPolicy lets the agent publish the GPU metrics the pool scales on.",
      ["Policy::arn:<AWS::Partition>:iam::aws:policy/CloudWatchAgentServerPolicy"],
    ],
  ]);
  new CfnScalingPolicy(ctx.scope, "VllmGpuTracking", {
    autoScalingGroupName: pool.asg.autoScalingGroupName,
    policyType: "TargetTrackingScaling",
    estimatedInstanceWarmup: 1200,
    targetTrackingConfiguration: {
      targetValue: s.targetGpuUtilization,
      customizedMetricSpecification: {
        namespace: GPU_METRICS.namespace,
        metricName: GPU_METRICS.utilization,
        dimensions: [{ name: "AutoScalingGroupName", value: pool.asg.autoScalingGroupName }],
        statistic: "Average",
      },
    },
  });
  return pool;
}
