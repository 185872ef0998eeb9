import type { SSTConfig } from "sst";
import type { StageSettingsInput } from "./stacks/settings";

/**
 * Per-stage settings (schema and defaults: stacks/settings.ts). A stage not listed here
 * (`sst deploy --stage alice`) gets the defaults: its own isolated, disposable copy of the
 * platform with a GPU group scaled to zero, a Cognito user pool for sign-in, and one-day
 * audit retention.
 */
export const STAGES: Record<string, StageSettingsInput> = {
  prod: {
    removal: "retain",
    // Seven years (with leap days) of COMPLIANCE-mode retention: nobody, root included, can delete.
    auditRetentionDays: 2557,
    onlineStore: { type: "keyspaces" },
    serving: {
      type: "asg",
      instanceType: "g5.xlarge",
      minInstances: 1,
      maxInstances: 8,
      targetInFlightPerInstance: 32,
    },
    vpc: { maxAzs: 3, natGateways: 3 },
    logRetentionDays: 3653,
  },
  staging: {
    removal: "destroy",
    auditRetentionDays: 30,
    serving: { type: "eks", instanceType: "g5.xlarge", minInstances: 0, maxInstances: 2 },
  },
};

export default {
  config() {
    return { name: "keel", region: "us-east-1" };
  },
  async stacks(app) {
    // Imported here, not at the top: SST reads config() alone first (and every test file
    // does), and that read should not have to load CDK and all the stacks.
    const { configureApp } = await import("./stacks/app");
    const { keelStacks } = await import("./stacks/index");
    configureApp(app, STAGES[app.stage]);
    for (const s of keelStacks) app.stack(s);
  },
} satisfies SSTConfig;
