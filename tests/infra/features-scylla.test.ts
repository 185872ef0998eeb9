import { ENV } from "@keel/core";
import { describe, expect, it } from "vitest";
import { Features } from "../../stacks/Features";
import { Network } from "../../stacks/Network";
import { Storage } from "../../stacks/Storage";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

const scylla = {
  type: "scylla" as const,
  contactPoints: [
    "node-0.aws-us-east-1.keel.clusters.scylla.cloud",
    "node-1.aws-us-east-1.keel.clusters.scylla.cloud",
  ],
  localDc: "AWS_US_EAST_1",
  credentialsSecretName: "keel/scylla",
};
const out = synthOnce([Network, Storage, Features], {
  stage: "infra-scylla",
  config: { onlineStore: scylla },
});
const t = () => out.templates.Features;

describe("Features stack (ScyllaDB Cloud)", () => {
  it("creates no Keyspaces resources or endpoint", () => {
    expect(resourcesOf(t(), "AWS::Cassandra::Keyspace")).toEqual([]);
    expect(resourcesOf(t(), "AWS::Cassandra::Table")).toEqual([]);
    expect(JSON.stringify(resourcesOf(t(), "AWS::EC2::VPCEndpoint"))).not.toContain("cassandra");
  });

  it("points functions at the contact points and the credentials secret, readable by them only", () => {
    const fn = resourcesOf(t(), "AWS::Lambda::Function").find(
      (f) => f.Handler === "functions/materialize.handler",
    );
    const vars = fn.Environment.Variables;
    expect(vars[ENV.CQL_CONTACT_POINTS]).toBe(scylla.contactPoints.join(","));
    expect(vars[ENV.CQL_LOCAL_DC]).toBe(scylla.localDc);
    expect(vars[ENV.CQL_FLAVOR]).toBe("scylla");
    expect(vars[ENV.CQL_TLS]).toBe("true");
    expect(vars[ENV.CQL_PORT]).toBe("9142");
    expect(JSON.stringify(vars[ENV.CQL_CREDENTIALS_SECRET])).toContain("secret:keel/scylla");
    const secretGrant = resourcesOf(t(), "AWS::IAM::Policy")
      .flatMap((p) => p.PolicyDocument.Statement)
      .find((s) => [s.Action].flat().includes("secretsmanager:GetSecretValue"));
    expect(JSON.stringify(secretGrant.Resource)).toContain("secret:keel/scylla-??????");
  });

  itPassesSecurityChecks(out);
});
