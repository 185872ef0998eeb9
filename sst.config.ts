import type { SSTConfig } from "sst";
import { configureApp } from "./stacks/app";
import { keelStacks } from "./stacks/index";
import type { StageSettingsInput } from "./stacks/settings";

/**
 * Per-stage settings. A stage not listed here (`sst deploy --stage alice`) gets the defaults in
 * stacks/settings.ts: its own isolated, disposable copy of the platform with a small GPU group
 * scaled to zero, a Cognito user pool for sign-in, and one-day audit retention.
 */
export const STAGES: Record<string, StageSettingsInput> = {
  prod: {
    removal: "retain",
    // Seven years (with leap days) of COMPLIANCE-mode retention: nobody, root included, can delete.
    auditRetentionDays: 2557,
    onlineStore: { type: "keyspaces" },
    serving: { type: "asg", instanceType: "g5.xlarge", minInstances: 1, maxInstances: 8, targetInFlightPerInstance: 32 },
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
  stacks(app) {
    configureApp(app, STAGES[app.stage]);
    for (const s of keelStacks) app.stack(s);
  },
} satisfies SSTConfig;
