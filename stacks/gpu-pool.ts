import { Duration } from "aws-cdk-lib";
import {
  AdditionalHealthCheckType,
  AutoScalingGroup,
  GroupMetrics,
  HealthChecks,
} from "aws-cdk-lib/aws-autoscaling";
import {
  BlockDeviceVolume,
  EbsDeviceVolumeType,
  InstanceType,
  LaunchTemplate,
  MachineImage,
  Port,
  SecurityGroup,
  type SubnetSelection,
  type UserData,
  type Vpc,
} from "aws-cdk-lib/aws-ec2";
import { NetworkLoadBalancer, Protocol } from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { Effect, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { resourceEndingWith, suppress } from "./nag";

/**
 * A pool of GPU instances behind an internal network load balancer: an Auto Scaling group on
 * ECS's GPU AMI (NVIDIA driver, Docker, the NVIDIA container toolkit), reached only from the
 * Lambda security group on one port, instances managed through Session Manager (no SSH),
 * encrypted disks, IMDSv2, scaling events on SNS. Triton (stacks/gpu-backends.ts) and the vLLM
 * pools (stacks/llm-pool.ts) are both such pools; each brings its own boot script and health path.
 */
export interface GpuPoolContext {
  scope: Construct;
  vpc: Vpc;
  subnets: SubnetSelection;
  lambdaSg: SecurityGroup;
  bucket: IBucket;
  key: IKey;
  accessLogs: IBucket;
}

/** Construct ids of a pool's parts (kept stable per pool, so a deployed stage is not replaced). */
export interface GpuPoolIds {
  nodeSg: string;
  nlbSg: string;
  role: string;
  launchTemplate: string;
  topic: string;
  asg: string;
  nlb: string;
  /** Prefix of the load balancer's access logs in the access-log bucket. */
  logPrefix: string;
}

export interface GpuPoolOptions {
  ids: GpuPoolIds;
  /** What the pool serves, for descriptions and rule names (e.g. "Triton", "vLLM"). */
  what: string;
  port: number;
  healthPath: string;
  instanceType: string;
  minInstances: number;
  maxInstances: number;
  userData: UserData;
  /** S3 prefixes (in the platform bucket) the nodes may read: model weights, adapters. */
  readPrefixes: string[];
  /** Seconds from boot until a node can pass health checks (driver init, image pull, model load). */
  warmupSeconds: number;
  diskGiB?: number;
}

export interface GpuPool {
  asg: AutoScalingGroup;
  nlb: NetworkLoadBalancer;
  role: Role;
  url: string;
}

/** Read access for GPU nodes to the given bucket prefixes only. */
export function grantPrefixesRead(role: Role, bucket: IBucket, key: IKey, prefixes: string[]): void {
  role.addToPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["s3:GetObject"],
      resources: prefixes.map((p) => bucket.arnForObjects(`${p}*`)),
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["s3:ListBucket"],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { "s3:prefix": prefixes.map((p) => `${p}*`) } },
    }),
  );
  role.addToPolicy(
    new PolicyStatement({ effect: Effect.ALLOW, actions: ["kms:Decrypt"], resources: [key.keyArn] }),
  );
  suppress(
    role,
    prefixes.map((p) => [
      "AwsSolutions-IAM5",
      `Files are published under ${p} at run time; read-only and limited to that prefix.`,
      [resourceEndingWith(`/${p}*`)],
    ]),
  );
}

/** The role GPU nodes run as: Session Manager access, no SSH keys or open ports. */
export function gpuNodeRole(scope: Construct, id: string): Role {
  const role = new Role(scope, id, { assumedBy: new ServicePrincipal("ec2.amazonaws.com") });
  role.addManagedPolicy(ManagedPolicy.fromAwsManagedPolicyName("AmazonSSMManagedInstanceCore"));
  suppress(role, [
    [
      "AwsSolutions-IAM4",
      "AmazonSSMManagedInstanceCore gives operators Session Manager access instead of SSH keys and open ports.",
      ["Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore"],
    ],
  ]);
  return role;
}

export function gpuPool(ctx: GpuPoolContext, o: GpuPoolOptions): GpuPool {
  const { scope, vpc, subnets, lambdaSg } = ctx;
  const nodeSg = new SecurityGroup(scope, o.ids.nodeSg, {
    vpc,
    description: `${o.what} GPU nodes`,
    allowAllOutbound: true,
  });
  const nlbSg = new SecurityGroup(scope, o.ids.nlbSg, {
    vpc,
    description: `Internal ${o.what} load balancer`,
    allowAllOutbound: false,
  });
  nlbSg.addIngressRule(lambdaSg, Port.tcp(o.port), `${o.what} HTTP from Keel's functions`);
  nlbSg.addEgressRule(nodeSg, Port.tcp(o.port), `To ${o.what}`);
  nodeSg.addIngressRule(nlbSg, Port.tcp(o.port), "From the load balancer");

  const role = gpuNodeRole(scope, o.ids.role);
  grantPrefixesRead(role, ctx.bucket, ctx.key, o.readPrefixes);

  const launchTemplate = new LaunchTemplate(scope, o.ids.launchTemplate, {
    instanceType: new InstanceType(o.instanceType),
    // ECS's GPU AMI: NVIDIA driver, Docker and the NVIDIA container toolkit preinstalled.
    machineImage: MachineImage.fromSsmParameter(
      "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id",
    ),
    role,
    securityGroup: nodeSg,
    userData: o.userData,
    requireImdsv2: true,
    detailedMonitoring: true,
    blockDevices: [
      {
        deviceName: "/dev/xvda",
        volume: BlockDeviceVolume.ebs(o.diskGiB ?? 200, {
          encrypted: true,
          volumeType: EbsDeviceVolumeType.GP3,
        }),
      },
    ],
  });
  const topic = new Topic(scope, o.ids.topic, { enforceSSL: true, masterKey: ctx.key });
  const asg = new AutoScalingGroup(scope, o.ids.asg, {
    vpc,
    vpcSubnets: subnets,
    launchTemplate,
    minCapacity: o.minInstances,
    maxCapacity: o.maxInstances,
    healthChecks: HealthChecks.withAdditionalChecks({
      additionalTypes: [AdditionalHealthCheckType.ELB],
      gracePeriod: Duration.seconds(o.warmupSeconds),
    }),
    groupMetrics: [GroupMetrics.all()],
    notifications: [{ topic }],
  });

  const nlb = new NetworkLoadBalancer(scope, o.ids.nlb, {
    vpc,
    vpcSubnets: subnets,
    internetFacing: false,
    crossZoneEnabled: true,
    securityGroups: [nlbSg],
  });
  nlb.logAccessLogs(ctx.accessLogs, o.ids.logPrefix);
  nlb.addListener("Http", { port: o.port, protocol: Protocol.TCP }).addTargets(o.what.replace(/\W/g, ""), {
    port: o.port,
    protocol: Protocol.TCP,
    targets: [asg],
    deregistrationDelay: Duration.seconds(30),
    healthCheck: {
      protocol: Protocol.HTTP,
      path: o.healthPath,
      port: String(o.port),
      interval: Duration.seconds(10),
    },
  });
  return { asg, nlb, role, url: `http://${nlb.loadBalancerDnsName}:${o.port}` };
}
