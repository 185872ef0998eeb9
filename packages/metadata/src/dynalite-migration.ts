/**
 * Migration of a data dir written by an older Keel (metadata in dynalite) into SQLite; see
 * openLocalMetadataStore in local-store.ts, which loads this module only when it must migrate.
 */
import { renameSync, rmSync } from "node:fs";
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { startDynalite } from "./dynalite-server";
import { createDynamoDbClient, DynamoDbMetadataStore } from "./dynamodb-store";
import { localPaths, type MigrationReport } from "./local-paths";
import { SqliteMetadataStore } from "./sqlite-store";

export async function migrateFromDynalite(dataDir: string, table: string): Promise<MigrationReport> {
  const paths = localPaths(dataDir);
  const pending = `${paths.sqlite}.migrating`;
  const next = `${paths.dynalite}.migrating`;
  for (const p of [pending, `${pending}-wal`, `${pending}-shm`, next])
    rmSync(p, { recursive: true, force: true });
  const old = await startDynalite({ path: paths.dynalite });
  const source = new DynamoDbMetadataStore({ table, endpoint: old.endpoint });
  let items = 0;
  const carried: string[] = [];
  try {
    const tables = await listTables(source.client);
    const target = new SqliteMetadataStore({ path: pending });
    try {
      if (tables.includes(table)) items = await target.importAll(source.scan());
    } finally {
      await target.close();
    }
    const others = tables.filter((t) => t !== table);
    if (others.length) {
      const fresh = await startDynalite({ path: next });
      const client = createDynamoDbClient({ endpoint: fresh.endpoint });
      try {
        for (const t of others) await copyTable(source.client, client, t);
        carried.push(...others);
      } finally {
        client.destroy();
        await fresh.close();
      }
    }
  } finally {
    await source.close();
    await old.close();
  }
  // The commit point: from here on the data dir opens on SQLite.
  renameSync(pending, paths.sqlite);
  const backup = `${paths.dynalite}.before-sqlite-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  renameSync(paths.dynalite, backup);
  if (carried.length) renameSync(next, paths.dynalite);
  return { items, backup, carried };
}

async function listTables(client: DynamoDBClient): Promise<string[]> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const r = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    names.push(...(r.TableNames ?? []));
    start = r.LastEvaluatedTableName;
  } while (start);
  return names;
}

/** Copies a table's definition and items from one DynamoDB endpoint to another. */
async function copyTable(from: DynamoDBClient, to: DynamoDBClient, name: string): Promise<void> {
  const { Table: t } = await from.send(new DescribeTableCommand({ TableName: name }));
  if (!t) return;
  const input: CreateTableCommandInput = {
    TableName: name,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: t.AttributeDefinitions,
    KeySchema: t.KeySchema,
    GlobalSecondaryIndexes: t.GlobalSecondaryIndexes?.map((i) => ({
      IndexName: i.IndexName,
      KeySchema: i.KeySchema,
      Projection: i.Projection,
    })),
    LocalSecondaryIndexes: t.LocalSecondaryIndexes?.map((i) => ({
      IndexName: i.IndexName,
      KeySchema: i.KeySchema,
      Projection: i.Projection,
    })),
  };
  await to.send(new CreateTableCommand(input));
  let start: Record<string, import("@aws-sdk/client-dynamodb").AttributeValue> | undefined;
  do {
    const page = await from.send(
      new ScanCommand({ TableName: name, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    const items = page.Items ?? [];
    for (let i = 0; i < items.length; i += 25) {
      let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      while (pending.length) {
        const r = await to.send(new BatchWriteItemCommand({ RequestItems: { [name]: pending } }));
        pending = (r.UnprocessedItems?.[name] ?? []) as typeof pending;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
}
