import { ENV } from "@keel/core";
import { describe, expect, it } from "vitest";
import { Features } from "../../stacks/Features";
import { Monitoring } from "../../stacks/Monitoring";
import { Network } from "../../stacks/Network";
import { Storage } from "../../stacks/Storage";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

const out = synthOnce([Network, Storage, Features, Monitoring], {
  stage: "infra-consistency",
  config: {
    consistencyChecks: [
      { view: "user_stats", schedule: "rate(6 hours)", sample: 500, threshold: 0.01 },
      { view: "merchant_stats" },
    ],
  },
});
const t = () => out.templates.Monitoring;
const HANDLER = "functions/consistency-check.handler";
const actions = (s: { Action: string | string[] }) => [s.Action].flat();

describe("scheduled consistency checks (stage setting consistencyChecks)", () => {
  it("runs one function in the VPC with the online and offline stores' settings", () => {
    const fns = resourcesOf(t(), "AWS::Lambda::Function").filter((f) => f.Handler === HANDLER);
    expect(fns).toHaveLength(1);
    const [fn] = fns;
    expect(fn).toMatchObject({ Runtime: "nodejs22.x", Timeout: 900 });
    expect(fn.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    const vars = fn.Environment.Variables;
    expect(vars[ENV.ONLINE_STORE]).toBe("cql");
    expect(vars[ENV.GLUE_DATABASE]).toBe("keel_infra_consistency");
    expect(vars[ENV.ATHENA_WORKGROUP]).toBe("keel-infra-consistency");
    expect(JSON.stringify(vars[ENV.OFFLINE_ROOT])).toContain("/offline/");
  });

  it("schedules each check with the check as the function's input, retries and a dead-letter queue", () => {
    const schedules = resourcesOf(t(), "AWS::Scheduler::Schedule").filter((s) =>
      String(s.Description).includes("training-serving skew"),
    );
    expect(schedules).toHaveLength(2);
    const byView = Object.fromEntries(schedules.map((s) => [JSON.parse(s.Target.Input).view, s]));
    expect(byView.user_stats.ScheduleExpression).toBe("rate(6 hours)");
    expect(JSON.parse(byView.user_stats.Target.Input)).toEqual({
      view: "user_stats",
      sample: 500,
      threshold: 0.01,
    });
    expect(byView.merchant_stats.ScheduleExpression).toBe("rate(1 day)");
    expect(JSON.parse(byView.merchant_stats.Target.Input)).toEqual({
      view: "merchant_stats",
      sample: 1000,
      threshold: 0,
    });
    for (const s of schedules) {
      expect(s.Target.RetryPolicy.MaximumRetryAttempts).toBe(2);
      expect(s.Target.DeadLetterConfig.Arn).toBeTruthy();
    }
  });

  it("grants Athena reads with only its temporary entity tables created and dropped", () => {
    const st = resourcesOf(t(), "AWS::IAM::Policy")
      .filter((p) => JSON.stringify(p.Roles).includes("ConsistencyCheckFn"))
      .flatMap((p) => p.PolicyDocument.Statement);
    const writes = st.filter((s) =>
      actions(s).some((a) => a === "glue:CreateTable" || a === "glue:DeleteTable"),
    );
    expect(writes).toHaveLength(1);
    expect(JSON.stringify(writes[0].Resource)).toContain("table/keel_infra_consistency/keel_entities_*");
    const puts = st.filter((s) => actions(s).includes("s3:PutObject")).map((s) => JSON.stringify(s.Resource));
    expect(puts.some((r) => r.includes("/offline/_athena/*"))).toBe(true);
    expect(puts.some((r) => /\/offline\/\*"/.test(r))).toBe(false);
    expect(st.flatMap(actions)).toContain("athena:StartQueryExecution");
    expect(st.flatMap(actions)).not.toContain("dynamodb:Scan");
  });

  itPassesSecurityChecks(out);
});
