import { Stack } from "aws-cdk-lib";
import type { CfnWorkGroup } from "aws-cdk-lib/aws-athena";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { Function as SstFunction } from "sst/constructs";
import { grantPrefix } from "./functions";
import { PREFIX } from "./Storage";

/** The stage's offline store as Athena sees it (Features stack). */
export interface AthenaScope {
  bucket: IBucket;
  key: IKey;
  glueDatabaseName: string;
  workgroup: CfnWorkGroup;
}

const arn = (fn: SstFunction, service: string, resource: string) => {
  const stack = Stack.of(fn);
  return `arn:${stack.partition}:${service}:${stack.region}:${stack.account}:${resource}`;
};

/**
 * Queries in the stage's workgroup: start, watch, read and stop them; schema lookups through
 * Athena's view of the Glue catalog; where the bucket lives (Athena asks before writing
 * results); the results under their own prefix.
 */
export function grantAthenaQueries(fn: SstFunction, scope: AthenaScope): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: [
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
      ],
      resources: [arn(fn, "athena", `workgroup/${scope.workgroup.name}`)],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["athena:GetTableMetadata"],
      resources: [arn(fn, "athena", "datacatalog/AwsDataCatalog")],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["s3:GetBucketLocation"],
      resources: [scope.bucket.bucketArn],
    }),
  );
  grantPrefix(fn, scope.bucket, scope.key, PREFIX.athenaResults, "readwrite");
}

/** Glue `actions` on the catalog, the stage's database and its tables named `<tables>*`. */
export function grantGlueTables(fn: SstFunction, database: string, actions: string[], tables = ""): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions,
      resources: [
        arn(fn, "glue", "catalog"),
        arn(fn, "glue", `database/${database}`),
        arn(fn, "glue", `table/${database}/${tables}*`),
      ],
    }),
  );
}
