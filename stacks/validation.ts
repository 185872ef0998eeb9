import { ATHENA_TEMP_TABLE_PREFIX } from "@keel/validation";
import { Duration, type Stack } from "aws-cdk-lib";
import { type App, type Function as SstFunction, use } from "sst/constructs";
import { type AthenaScope, grantAthenaQueries, grantGlueTables } from "./athena-grants";
import { Features } from "./Features";
import { grantPrefix, grantTable, keelFunction, platformEnv, scheduleFunction } from "./functions";
import { Network } from "./Network";
import { resourceEndingWith, suppress } from "./nag";
import { PREFIX, Storage } from "./Storage";
import { stageSettings } from "./settings";

/**
 * What a function running expectation suites with Athena (`AthenaValidationEngine`) needs, and
 * no more: queries in the stage's workgroup; reading the stage database's tables (a
 * `glue://` dataset) but creating and dropping only its own temporary `keel_validate_*` tables
 * (an s3:// dataset); reading datasets under the offline and artifact prefixes; Athena's
 * results under its own prefix.
 */
export function grantAthenaValidation(fn: SstFunction, deps: AthenaScope): void {
  grantAthenaReads(fn, deps, { tempTables: ATHENA_TEMP_TABLE_PREFIX });
}

/** Athena reads of the stage's data, with temporary tables named `<tempTables>*` only; `staging` is written. */
function grantAthenaReads(
  fn: SstFunction,
  deps: AthenaScope,
  opts: { tempTables: string; staging?: string },
): void {
  const { tempTables } = opts;
  const db = deps.glueDatabaseName;
  grantAthenaQueries(fn, deps);
  grantGlueTables(fn, db, ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"]);
  grantGlueTables(fn, db, ["glue:CreateTable", "glue:DeleteTable"], tempTables);
  grantPrefix(fn, deps.bucket, deps.key, PREFIX.offline, "read");
  if (opts.staging) grantPrefix(fn, deps.bucket, deps.key, opts.staging, "readwrite");
  suppress(fn, [
    [
      "AwsSolutions-IAM5",
      `Queries may read any table of this stage's Glue database (read only); tables are created and dropped only as ${tempTables}*, one per query that needs one.`,
      [resourceEndingWith(`/${db}/*`), resourceEndingWith(`/${db}/${tempTables}*`)],
    ],
  ]);
}

/**
 * The stage setting `consistencyChecks`: one function (functions/consistency-check.ts, in the
 * VPC beside the online store) and one EventBridge Scheduler schedule per check, whose input
 * is the check. It reads the offline store with Athena (staging entity rows under
 * `offline/_athena/`, temporary `keel_entities_*` tables), reads the online store, and writes
 * tracking runs, report artifacts and audit events. No checks, no function.
 */
export function consistencyChecks(stack: Stack, app: App): SstFunction | undefined {
  const checks = stageSettings(app).consistencyChecks;
  if (!checks.length) return undefined;
  const { vpc, lambdaSg, privateSubnets } = use(Network);
  const { table, bucket, key } = use(Storage);
  const { onlineEnv, offlineEnv, grantOnline, glueDatabaseName, workgroup, scheduleDlq } = use(Features);
  const fn = keelFunction(stack, "ConsistencyCheckFn", {
    handler: "functions/consistency-check.handler",
    description: "Training-serving skew checks of online feature views",
    timeout: 900,
    memorySize: 2048,
    vpc,
    vpcSubnets: privateSubnets,
    securityGroups: [lambdaSg],
    environment: { ...platformEnv(app.stage, table, bucket, PREFIX.artifacts), ...onlineEnv, ...offlineEnv },
  });
  grantTable(fn, table, key, "readwrite");
  grantPrefix(fn, bucket, key, PREFIX.artifacts, "readwrite");
  grantOnline(fn);
  grantAthenaReads(
    fn,
    { bucket, key, glueDatabaseName, workgroup },
    { tempTables: "keel_entities_", staging: `${PREFIX.offline}_athena/` },
  );
  checks.forEach((check, i) => {
    const { schedule, ...input } = check;
    scheduleFunction(stack, `ConsistencyCheck${i}Schedule`, fn, {
      expression: schedule,
      description: `Checks training-serving skew of the feature view ${check.view}`,
      deadLetterQueue: scheduleDlq,
      maxEventAge: Duration.hours(6),
      input,
    });
  });
  return fn;
}
