import { Effect, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Bucket } from "aws-cdk-lib/aws-s3";
import type { StackContext } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { expectNoNagErrors, iamViolations, SYNTH_TIMEOUT_MS, type Synthesized, synthStacks } from "./synth";

/** A deliberately careless stack: the checks the real stacks rely on must catch it. */
function Careless({ stack }: StackContext) {
  new Bucket(stack, "Open");
  const role = new Role(stack, "Broad", { assumedBy: new ServicePrincipal("lambda.amazonaws.com") });
  role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ["s3:*"], resources: ["*"] }));
  role.addToPolicy(
    new PolicyStatement({ effect: Effect.ALLOW, actions: ["dynamodb:GetItem"], resources: ["*"] }),
  );
}

let out: Synthesized;
beforeAll(async () => {
  out = await synthStacks([Careless], { stage: "infra-synth" });
}, SYNTH_TIMEOUT_MS);

describe("synthStacks checks", () => {
  it("reports unsuppressed cdk-nag errors", () => {
    const rules = out.errors.map((e) => e.message.split(/[:[]/)[0]);
    expect(rules).toEqual(
      expect.arrayContaining(["AwsSolutions-S1", "AwsSolutions-S10", "AwsSolutions-IAM5"]),
    );
    expect(() => expectNoNagErrors(out)).toThrow(/unsuppressed cdk-nag errors/);
  });

  it("flags wildcard actions and data actions on Resource '*'", () => {
    const flagged = iamViolations(out).map((v) => (v.statement as { Action: string }).Action);
    expect(flagged).toEqual(["s3:*", "dynamodb:GetItem"]);
  });
});
