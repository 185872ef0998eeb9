import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  InterfaceVpcEndpointAwsService,
  IpAddresses,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import type { StackContext } from "sst/constructs";
import { removalPolicy } from "./app";
import { stageSettings } from "./settings";

/**
 * The stage's VPC: private subnets for the functions that reach private resources (router,
 * online store, GPU nodes), gateway endpoints so table and bucket traffic never crosses the
 * NAT, and one security group Lambdas use to reach what lives in the VPC.
 */
export function Network({ stack, app }: StackContext) {
  const settings = stageSettings(app);
  const vpc = new Vpc(stack, "Vpc", {
    ipAddresses: IpAddresses.cidr("10.40.0.0/16"),
    maxAzs: settings.vpc.maxAzs,
    natGateways: settings.vpc.natGateways,
    subnetConfiguration: [
      { name: "public", subnetType: SubnetType.PUBLIC, cidrMask: 24 },
      { name: "private", subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
    ],
    gatewayEndpoints: {
      S3: { service: GatewayVpcEndpointAwsService.S3 },
      DynamoDB: { service: GatewayVpcEndpointAwsService.DYNAMODB },
    },
  });
  const flowLogs = new LogGroup(stack, "FlowLogs", {
    retention: settings.logRetentionDays,
    removalPolicy: removalPolicy(settings),
  });
  vpc.addFlowLog("FlowLog", {
    destination: FlowLogDestination.toCloudWatchLogs(flowLogs),
    trafficType: FlowLogTrafficType.ALL,
  });

  /** Lambdas in the VPC: egress only; what they call admits this group. */
  const lambdaSg = new SecurityGroup(stack, "LambdaSg", {
    vpc,
    description: "Keel functions inside the VPC",
    allowAllOutbound: true,
  });

  /** Interface endpoints for services called from private subnets on the hot path. */
  const endpointSg = new SecurityGroup(stack, "EndpointSg", {
    vpc,
    description: "Interface VPC endpoints (HTTPS and CQL/TLS from inside the VPC)",
    allowAllOutbound: false,
  });
  endpointSg.addIngressRule(Peer.ipv4(vpc.vpcCidrBlock), Port.tcp(443), "HTTPS from the VPC");
  for (const [id, service] of [
    ["Sqs", InterfaceVpcEndpointAwsService.SQS],
    ["CloudWatch", InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING],
    ["SageMakerRuntime", InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME],
  ] as const) {
    vpc.addInterfaceEndpoint(id, { service, securityGroups: [endpointSg], privateDnsEnabled: true });
  }

  return { vpc, lambdaSg, endpointSg, privateSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS } };
}
