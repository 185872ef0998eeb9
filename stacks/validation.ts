import { ATHENA_TEMP_TABLE_PREFIX } from "@keel/validation";
import { Stack } from "aws-cdk-lib";
import type { CfnWorkGroup } from "aws-cdk-lib/aws-athena";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { Function as SstFunction } from "sst/constructs";
import { grantPrefix } from "./functions";
import { resourceEndingWith, suppress } from "./nag";
import { PREFIX } from "./Storage";

/**
 * What a function running expectation suites with Athena (`AthenaValidationEngine`) needs, and
 * no more: queries in the stage's workgroup; reading the stage database's tables (a
 * `glue://` dataset) but creating and dropping only its own temporary `keel_validate_*` tables
 * (an s3:// dataset); reading datasets under the offline and artifact prefixes; Athena's
 * results under its own prefix.
 */
export function grantAthenaValidation(
  fn: SstFunction,
  deps: { bucket: IBucket; key: IKey; glueDatabaseName: string; workgroup: CfnWorkGroup },
): void {
  const stack = Stack.of(fn);
  const arn = (service: string, resource: string) =>
    `arn:${stack.partition}:${service}:${stack.region}:${stack.account}:${resource}`;
  const db = deps.glueDatabaseName;
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: [
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
      ],
      resources: [arn("athena", `workgroup/${deps.workgroup.name}`)],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["athena:GetTableMetadata"],
      resources: [arn("athena", "datacatalog/AwsDataCatalog")],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
      resources: [arn("glue", "catalog"), arn("glue", `database/${db}`), arn("glue", `table/${db}/*`)],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["glue:CreateTable", "glue:DeleteTable"],
      resources: [
        arn("glue", "catalog"),
        arn("glue", `database/${db}`),
        arn("glue", `table/${db}/${ATHENA_TEMP_TABLE_PREFIX}*`),
      ],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["s3:GetBucketLocation"],
      resources: [deps.bucket.bucketArn],
    }),
  );
  grantPrefix(fn, deps.bucket, deps.key, PREFIX.offline, "read");
  grantPrefix(fn, deps.bucket, deps.key, PREFIX.athenaResults, "readwrite");
  suppress(fn, [
    [
      "AwsSolutions-IAM5",
      `Suites may validate any table of this stage's Glue database (read only); tables are created and dropped only as ${ATHENA_TEMP_TABLE_PREFIX}*, one per validation.`,
      [resourceEndingWith(`/${db}/*`), resourceEndingWith(`/${db}/${ATHENA_TEMP_TABLE_PREFIX}*`)],
    ],
  ]);
}
