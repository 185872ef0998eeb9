import { Duration, Fn } from "aws-cdk-lib";
import { PredefinedMetric, ScalableTarget, ServiceNamespace } from "aws-cdk-lib/aws-applicationautoscaling";
import { CfnScalingPolicy } from "aws-cdk-lib/aws-autoscaling";
import { Port, SecurityGroup, type SubnetSelection, UserData, type Vpc } from "aws-cdk-lib/aws-ec2";
import { CfnCluster, CfnNodegroup } from "aws-cdk-lib/aws-eks";
import { Effect, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { PrivateHostedZone } from "aws-cdk-lib/aws-route53";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from "aws-cdk-lib/aws-sagemaker";
import type { Construct } from "constructs";
import type { Function as SstFunction } from "sst/constructs";
import { ENV, SERVING_METRICS } from "./env";
import { gpuPool, grantPrefixesRead } from "./gpu-pool";
import { resourceEndingWith, suppress } from "./nag";
import { PREFIX } from "./Storage";
import type { StageSettings } from "./settings";

/**
 * The GPU backends a stage's router can send inference to, one per `serving.type`: Triton on
 * an EC2 Auto Scaling group, Triton on an EKS managed node group, or a SageMaker endpoint.
 */
type ServingSettings = StageSettings["serving"];
const TRITON_HTTP_PORT = 8000;

/** What the router needs from whichever GPU backend a stage runs. */
export interface Backend {
  env: Record<string, string>;
  /** Lets a function call the backend (network path or IAM, as the backend needs). */
  allow(fn: SstFunction): void;
}

export interface BackendContext {
  scope: Construct;
  stage: string;
  vpc: Vpc;
  subnets: SubnetSelection;
  lambdaSg: SecurityGroup;
  bucket: IBucket;
  key: IKey;
  accessLogs: IBucket;
}

/** The backend a stage's settings select. */
export function gpuBackend(ctx: BackendContext, serving: ServingSettings): Backend {
  if (serving.type === "asg") return tritonAutoScalingGroup(ctx, serving);
  if (serving.type === "eks") return tritonEksNodeGroup(ctx, serving);
  return sagemakerEndpoint(ctx, serving);
}

/** Target tracking on the router's in-flight gauge divided by the instances in service. */
function inFlightPerInstancePolicy(
  scope: Construct,
  asgName: string,
  stage: string,
  target: number,
): CfnScalingPolicy {
  return new CfnScalingPolicy(scope, "InFlightTracking", {
    autoScalingGroupName: asgName,
    policyType: "TargetTrackingScaling",
    estimatedInstanceWarmup: 300,
    targetTrackingConfiguration: {
      targetValue: target,
      customizedMetricSpecification: {
        metrics: [
          {
            id: "inflight",
            returnData: false,
            metricStat: {
              metric: {
                namespace: SERVING_METRICS.namespace,
                metricName: SERVING_METRICS.inFlight,
                dimensions: [{ name: "Stage", value: stage }],
              },
              stat: "Sum",
            },
          },
          {
            id: "instances",
            returnData: false,
            metricStat: {
              metric: {
                namespace: "AWS/AutoScaling",
                metricName: "GroupInServiceInstances",
                dimensions: [{ name: "AutoScalingGroupName", value: asgName }],
              },
              stat: "Average",
            },
          },
          // With no instance in service the whole load counts as one instance's, so it scales out.
          {
            id: "perInstance",
            label: "InFlightPerInstance",
            expression: "IF(instances > 0, inflight / instances, inflight)",
            returnData: true,
          },
        ],
      },
    },
  });
}

/** Shell run at boot: keep /opt/keel/models in sync with s3://<bucket>/models/, run Triton on it. */
function tritonUserData(bucketName: string, image: string): UserData {
  const userData = UserData.forLinux();
  userData.addCommands(
    "set -euo pipefail",
    "mkdir -p /opt/keel/models",
    `echo 'KEEL_MODELS=s3://${bucketName}/${PREFIX.models}' > /etc/keel.env`,
    "cat > /etc/systemd/system/keel-model-sync.service <<'EOF'",
    "[Unit]",
    "Description=Sync the Triton model repository from S3",
    "[Service]",
    "Type=oneshot",
    "EnvironmentFile=/etc/keel.env",
    "ExecStart=/usr/bin/aws s3 sync --delete --only-show-errors $KEEL_MODELS /opt/keel/models/",
    "EOF",
    "cat > /etc/systemd/system/keel-model-sync.timer <<'EOF'",
    "[Timer]",
    "OnBootSec=0",
    "OnUnitActiveSec=30s",
    "[Install]",
    "WantedBy=timers.target",
    "EOF",
    "systemctl daemon-reload",
    "systemctl start keel-model-sync.service",
    "systemctl enable --now keel-model-sync.timer",
    // Triton polls the synced directory, so a newly published version loads without a restart.
    `docker run -d --restart=always --gpus all --name triton --shm-size=1g -p ${TRITON_HTTP_PORT}:8000 -p 8002:8002 ` +
      `-v /opt/keel/models:/models ${image} tritonserver --model-repository=/models ` +
      "--model-control-mode=poll --repository-poll-secs=30 --strict-model-config=false",
  );
  return userData;
}

/** Read access for GPU nodes to the model repository prefix only. */
function grantModelRead(role: Role, bucket: IBucket, key: IKey): void {
  grantPrefixesRead(role, bucket, key, [PREFIX.models]);
}

function tritonAutoScalingGroup(ctx: BackendContext, s: Extract<ServingSettings, { type: "asg" }>): Backend {
  const pool = gpuPool(ctx, {
    ids: {
      nodeSg: "GpuNodeSg",
      nlbSg: "TritonNlbSg",
      role: "GpuNodeRole",
      launchTemplate: "GpuLaunchTemplate",
      topic: "GpuScalingEvents",
      asg: "GpuNodes",
      nlb: "TritonNlb",
      logPrefix: "triton-nlb",
    },
    what: "Triton",
    port: TRITON_HTTP_PORT,
    healthPath: "/v2/health/ready",
    instanceType: s.instanceType,
    minInstances: s.minInstances,
    maxInstances: s.maxInstances,
    userData: tritonUserData(ctx.bucket.bucketName, s.tritonImage),
    readPrefixes: [PREFIX.models],
    warmupSeconds: 600, // driver init + image pull + model load
  });
  inFlightPerInstancePolicy(ctx.scope, pool.asg.autoScalingGroupName, ctx.stage, s.targetInFlightPerInstance);
  return {
    env: { [ENV.SERVING_BACKEND]: "kserve", [ENV.SERVING_URL]: pool.url },
    allow: () => {
      // Network path only: the router's security group is admitted by the NLB's.
    },
  };
}

function tritonEksNodeGroup(ctx: BackendContext, s: Extract<ServingSettings, { type: "eks" }>): Backend {
  const { scope, vpc, subnets, lambdaSg } = ctx;
  const subnetIds = vpc.selectSubnets(subnets).subnetIds;
  const clusterSg = new SecurityGroup(scope, "EksClusterSg", {
    vpc,
    description: "EKS control plane and Triton pods",
    allowAllOutbound: true,
  });
  clusterSg.addIngressRule(
    lambdaSg,
    Port.tcp(TRITON_HTTP_PORT),
    "KServe v2 HTTP from the router and scoring consumer",
  );

  const clusterRole = new Role(scope, "EksClusterRole", {
    assumedBy: new ServicePrincipal("eks.amazonaws.com"),
    managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName("AmazonEKSClusterPolicy")],
  });
  suppress(clusterRole, [
    [
      "AwsSolutions-IAM4",
      "AmazonEKSClusterPolicy is the policy EKS requires its service role to carry.",
      ["Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKSClusterPolicy"],
    ],
  ]);
  const cluster = new CfnCluster(scope, "EksCluster", {
    name: `keel-${ctx.stage}`,
    version: s.kubernetesVersion,
    roleArn: clusterRole.roleArn,
    resourcesVpcConfig: {
      subnetIds,
      securityGroupIds: [clusterSg.securityGroupId],
      endpointPrivateAccess: true,
      endpointPublicAccess: false,
    },
    encryptionConfig: [{ provider: { keyArn: ctx.key.keyArn }, resources: ["secrets"] }],
    logging: {
      clusterLogging: {
        enabledTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"].map((type) => ({
          type,
        })),
      },
    },
    accessConfig: { authenticationMode: "API" },
  });

  const nodeRole = new Role(scope, "EksNodeRole", {
    assumedBy: new ServicePrincipal("ec2.amazonaws.com"),
    managedPolicies: [
      "AmazonEKSWorkerNodePolicy",
      "AmazonEKS_CNI_Policy",
      "AmazonEC2ContainerRegistryReadOnly",
    ].map((n) => ManagedPolicy.fromAwsManagedPolicyName(n)),
  });
  suppress(nodeRole, [
    [
      "AwsSolutions-IAM4",
      "EKS managed nodes require the worker, CNI and ECR read-only managed policies on their role.",
      ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map(
        (n) => `Policy::arn:<AWS::Partition>:iam::aws:policy/${n}`,
      ),
    ],
  ]);
  grantModelRead(nodeRole, ctx.bucket, ctx.key);
  const nodegroup = new CfnNodegroup(scope, "GpuNodegroup", {
    clusterName: cluster.ref,
    nodeRole: nodeRole.roleArn,
    subnets: subnetIds,
    amiType: "AL2023_x86_64_NVIDIA",
    instanceTypes: [s.instanceType],
    diskSize: 200,
    scalingConfig: { minSize: s.minInstances, maxSize: s.maxInstances, desiredSize: s.minInstances },
    labels: { "keel.dev/role": "triton" },
    // Only pods that tolerate the GPU taint (Triton) land on these nodes.
    taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
  });
  nodegroup.addDependency(cluster);

  // The Triton Service's internal NLB is registered here by ExternalDNS (see docs/deploy.md).
  const zone = new PrivateHostedZone(scope, "ServingZone", { zoneName: `${ctx.stage}.keel.internal`, vpc });
  return {
    env: {
      [ENV.SERVING_BACKEND]: "kserve",
      [ENV.SERVING_URL]: `http://triton.${zone.zoneName}:${TRITON_HTTP_PORT}`,
    },
    allow: () => {
      // Network path only: the cluster security group admits the router's.
    },
  };
}

function sagemakerEndpoint(ctx: BackendContext, s: Extract<ServingSettings, { type: "sagemaker" }>): Backend {
  const { scope, vpc, subnets } = ctx;
  const sg = new SecurityGroup(scope, "SageMakerSg", {
    vpc,
    description: "SageMaker endpoint instances",
    allowAllOutbound: true,
  });
  const role = new Role(scope, "SageMakerRole", {
    assumedBy: new ServicePrincipal("sagemaker.amazonaws.com"),
  });
  role.addToPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["s3:GetObject"],
      resources: [ctx.bucket.arnForObjects(s.modelDataKey)],
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["kms:Decrypt", "kms:CreateGrant"],
      resources: [ctx.key.keyArn],
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      // SageMaker places endpoint ENIs in the VPC and pulls the image; none of these take resource ARNs.
      actions: [
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ecr:GetAuthorizationToken",
      ],
      resources: ["*"],
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
      resources: [`arn:${Fn.ref("AWS::Partition")}:ecr:*:*:repository/*`],
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [`arn:${Fn.ref("AWS::Partition")}:logs:*:*:log-group:/aws/sagemaker/Endpoints/*`],
    }),
  );
  suppress(role, [
    [
      "AwsSolutions-IAM5",
      "VPC ENI management and ECR authorization take no resource ARNs; image pulls may come from AWS's regional inference-image accounts; logs are limited to SageMaker endpoint log groups.",
      [
        "Resource::*",
        { regex: "/^Resource::arn:.*:ecr:\\*:\\*:repository\\/\\*$/g" },
        resourceEndingWith("/aws/sagemaker/Endpoints/*"),
      ],
    ],
  ]);

  const model = new CfnModel(scope, "SageMakerModel", {
    executionRoleArn: role.roleArn,
    primaryContainer: { image: s.image, modelDataUrl: `s3://${ctx.bucket.bucketName}/${s.modelDataKey}` },
    vpcConfig: { subnets: vpc.selectSubnets(subnets).subnetIds, securityGroupIds: [sg.securityGroupId] },
    enableNetworkIsolation: true,
  });
  const variantName = "AllTraffic";
  const config = new CfnEndpointConfig(scope, "SageMakerEndpointConfig", {
    kmsKeyId: ctx.key.keyArn,
    productionVariants: [
      {
        variantName,
        modelName: model.attrModelName,
        initialInstanceCount: s.minInstances,
        instanceType: s.instanceType,
        initialVariantWeight: 1,
      },
    ],
  });
  const endpoint = new CfnEndpoint(scope, "SageMakerEndpoint", {
    endpointConfigName: config.attrEndpointConfigName,
  });

  const target = new ScalableTarget(scope, "SageMakerScaling", {
    serviceNamespace: ServiceNamespace.SAGEMAKER,
    resourceId: `endpoint/${endpoint.attrEndpointName}/variant/${variantName}`,
    scalableDimension: "sagemaker:variant:DesiredInstanceCount",
    minCapacity: s.minInstances,
    maxCapacity: s.maxInstances,
  });
  target.scaleToTrackMetric("InvocationsPerInstance", {
    predefinedMetric: PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
    targetValue: s.targetInvocationsPerInstance,
    scaleInCooldown: Duration.minutes(5),
    scaleOutCooldown: Duration.minutes(1),
  });

  const endpointArn = `arn:${Fn.ref("AWS::Partition")}:sagemaker:${Fn.ref("AWS::Region")}:${Fn.ref("AWS::AccountId")}:endpoint/${endpoint.attrEndpointName}`;
  return {
    env: {
      [ENV.SERVING_BACKEND]: "sagemaker",
      [ENV.SAGEMAKER_ENDPOINT]: endpoint.attrEndpointName,
    },
    allow: (fn) => {
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ["sagemaker:InvokeEndpoint"],
          resources: [endpointArn],
        }),
      );
    },
  };
}
