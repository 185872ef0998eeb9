import { Duration } from "aws-cdk-lib";
import { type StackContext, use } from "sst/constructs";
import { ENV } from "./env";
import { Features } from "./Features";
import { grantPrefix, grantTable, keelFunction, platformEnv, scheduleFunction } from "./functions";
import { PREFIX, Storage } from "./Storage";
import { stageSettings } from "./settings";
import { consistencyChecks } from "./validation";

/**
 * Drift monitoring: a schedule runs the drift job (`functions/drift.ts`) over the prediction
 * log the router writes under `artifacts/predictions/`; reports are stored as artifacts and
 * their summaries in the table.
 */
export function Monitoring({ stack, app }: StackContext) {
  const settings = stageSettings(app);
  const { table, bucket, key } = use(Storage);
  const { scheduleDlq } = use(Features);

  const drift = keelFunction(stack, "DriftFn", {
    handler: "functions/drift.handler",
    description: "Computes drift (PSI, KS) of recent predictions against each model's reference",
    timeout: 900,
    memorySize: 2048,
    environment: {
      ...platformEnv(app.stage, table, bucket, PREFIX.artifacts),
      [ENV.PREDICTION_LOG_ROOT]: `s3://${bucket.bucketName}/${PREFIX.predictions}`,
    },
  });
  grantTable(drift, table, key, "readwrite");
  // Reads the prediction log and baselines, writes reports: all inside the artifact store.
  grantPrefix(drift, bucket, key, PREFIX.artifacts, "readwrite");

  scheduleFunction(stack, "DriftSchedule", drift, {
    expression: settings.driftSchedule,
    description: "Runs the drift job",
    deadLetterQueue: scheduleDlq,
    maxEventAge: Duration.hours(6),
  });
  // Scheduled training-serving skew checks (the stage setting consistencyChecks).
  const consistency = consistencyChecks(stack, app);
  stack.addOutputs({ PredictionLogRoot: `s3://${bucket.bucketName}/${PREFIX.predictions}` });
  return { drift, consistency };
}
