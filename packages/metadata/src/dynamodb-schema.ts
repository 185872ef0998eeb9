import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * The single table's key schema. stacks/Storage.ts declares the same keys and indexes;
 * tests/infra checks the two agree.
 */
export const TABLE_KEYS = {
  partitionKey: "pk",
  sortKey: "sk",
  indexes: ["gsi1", "gsi2", "gsi3"] as const,
};

export function createTableInput(tableName: string): CreateTableCommandInput {
  const attr = (n: string) => ({ AttributeName: n, AttributeType: "S" as const });
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      attr("pk"),
      attr("sk"),
      ...TABLE_KEYS.indexes.flatMap((i) => [attr(`${i}pk`), attr(`${i}sk`)]),
    ],
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: TABLE_KEYS.indexes.map((i) => ({
      IndexName: i,
      KeySchema: [
        { AttributeName: `${i}pk`, KeyType: "HASH" as const },
        { AttributeName: `${i}sk`, KeyType: "RANGE" as const },
      ],
      Projection: { ProjectionType: "ALL" as const },
    })),
  };
}
