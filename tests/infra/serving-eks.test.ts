import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ENV } from "../../stacks/env";
import { Features } from "../../stacks/Features";
import { Network } from "../../stacks/Network";
import { Serving } from "../../stacks/Serving";
import { Storage } from "../../stacks/Storage";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

const out = synthOnce([Network, Storage, Features, Serving], {
  stage: "infra-eks",
  config: { serving: { type: "eks", instanceType: "g5.2xlarge", minInstances: 1, maxInstances: 3 } },
});
const t = () => out.templates.Serving;

describe("Serving stack (EKS managed node group)", () => {
  it("creates a private, encrypted, fully logged EKS cluster", () => {
    t().hasResourceProperties("AWS::EKS::Cluster", {
      ResourcesVpcConfig: Match.objectLike({ EndpointPrivateAccess: true, EndpointPublicAccess: false }),
      EncryptionConfig: [{ Provider: { KeyArn: Match.anyValue() }, Resources: ["secrets"] }],
      Logging: { ClusterLogging: { EnabledTypes: Match.arrayWith([{ Type: "api" }, { Type: "audit" }]) } },
    });
  });

  it("adds a GPU managed node group of the stage's instance type, tainted for Triton", () => {
    t().hasResourceProperties("AWS::EKS::Nodegroup", {
      AmiType: "AL2023_x86_64_NVIDIA",
      InstanceTypes: ["g5.2xlarge"],
      ScalingConfig: { MinSize: 1, MaxSize: 3, DesiredSize: 1 },
      Taints: [{ Key: "nvidia.com/gpu", Value: "true", Effect: "NO_SCHEDULE" }],
    });
    expect(resourcesOf(t(), "AWS::AutoScaling::AutoScalingGroup")).toEqual([]);
  });

  it("points the router at Triton's name in the stage's private zone", () => {
    const fn = resourcesOf(t(), "AWS::Lambda::Function").find(
      (f) => f.Handler === "functions/router.handler",
    );
    expect(fn.Environment.Variables[ENV.SERVING_BACKEND]).toBe("kserve");
    expect(fn.Environment.Variables[ENV.SERVING_URL]).toBe("http://triton.infra-eks.keel.internal:8000");
    t().hasResourceProperties("AWS::Route53::HostedZone", { Name: "infra-eks.keel.internal." });
  });

  itPassesSecurityChecks(out);
});
