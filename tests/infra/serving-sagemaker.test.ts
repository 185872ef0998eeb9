import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ENV } from "../../stacks/env";
import { Features } from "../../stacks/Features";
import { Network } from "../../stacks/Network";
import { Serving } from "../../stacks/Serving";
import { Storage } from "../../stacks/Storage";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

const image = "785573368785.dkr.ecr.us-east-1.amazonaws.com/sagemaker-tritonserver:24.09-py3";
const out = synthOnce([Network, Storage, Features, Serving], {
  stage: "infra-sagemaker",
  config: {
    serving: {
      type: "sagemaker",
      image,
      minInstances: 1,
      maxInstances: 6,
      targetInvocationsPerInstance: 150,
    },
  },
});
const t = () => out.templates.Serving;

describe("Serving stack (SageMaker endpoint)", () => {
  it("runs the model in the VPC with network isolation and a KMS-encrypted endpoint config", () => {
    t().hasResourceProperties("AWS::SageMaker::Model", {
      PrimaryContainer: { Image: image, ModelDataUrl: Match.anyValue() },
      VpcConfig: { Subnets: Match.anyValue(), SecurityGroupIds: Match.anyValue() },
      EnableNetworkIsolation: true,
    });
    t().hasResourceProperties("AWS::SageMaker::EndpointConfig", {
      KmsKeyId: Match.anyValue(),
      ProductionVariants: [
        Match.objectLike({
          VariantName: "AllTraffic",
          InstanceType: "ml.g5.xlarge",
          InitialInstanceCount: 1,
        }),
      ],
    });
  });

  it("scales the variant with Application Auto Scaling on invocations per instance", () => {
    t().hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      ServiceNamespace: "sagemaker",
      ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
      MinCapacity: 1,
      MaxCapacity: 6,
    });
    t().hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 150,
        PredefinedMetricSpecification: { PredefinedMetricType: "SageMakerVariantInvocationsPerInstance" },
      }),
    });
  });

  it("lets the router invoke this endpoint only", () => {
    const fn = resourcesOf(t(), "AWS::Lambda::Function").find(
      (f) => f.Handler === "functions/router.handler",
    );
    expect(fn.Environment.Variables[ENV.SERVING_BACKEND]).toBe("sagemaker");
    const invoke = resourcesOf(t(), "AWS::IAM::Policy")
      .flatMap((p) => p.PolicyDocument.Statement)
      .filter((s) => [s.Action].flat().includes("sagemaker:InvokeEndpoint"));
    expect(invoke.length).toBeGreaterThan(0);
    for (const s of invoke) expect(JSON.stringify(s.Resource)).toContain(":endpoint/");
  });

  itPassesSecurityChecks(out);
});
