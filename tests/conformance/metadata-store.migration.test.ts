import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AttributeValue,
  DescribeTableCommand,
  type DynamoDBClient,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { startLocalPlatform } from "@keel/local";
import { DynamoDbMetadataStore, type Item, SqliteMetadataStore, startDynalite } from "@keel/metadata";
import { KeelClient } from "@keel/sdk";
import { afterAll, expect, it, vi } from "vitest";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const byKey = (a: Item, b: Item) =>
  a.pk < b.pk ? -1 : a.pk > b.pk ? 1 : a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0;

async function allItems(store: { scan(): AsyncGenerator<Item[]> }): Promise<Item[]> {
  const out: Item[] = [];
  for await (const page of store.scan()) out.push(...page);
  return out.sort(byKey);
}

/** Every row of a table as sorted JSON strings, whatever its key schema. */
async function rawScan(client: DynamoDBClient, table: string): Promise<string[]> {
  const rows: string[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const r = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const it of r.Items ?? []) rows.push(JSON.stringify(Object.entries(it).sort()));
    start = r.LastEvaluatedKey;
  } while (start);
  return rows.sort();
}

/** A row for the online table, keyed by whatever key schema the online store gave it. */
async function onlineRow(client: DynamoDBClient, i: number): Promise<Record<string, AttributeValue>> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: "keel-online" }));
  const row: Record<string, AttributeValue> = { value: { S: `v${i}` } };
  for (const k of Table?.KeySchema ?? []) row[k.AttributeName as string] = { S: `${k.AttributeName}-${i}` };
  return row;
}

it("a data dir written by the dynalite-backed platform is migrated to SQLite on first start, item for item", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "keel-migrate-"));
  dirs.push(dataDir);

  // Today's path: keel dev with its metadata in dynalite on the data dir.
  process.env.KEEL_LOCAL_METADATA = "dynalite";
  let runId: string;
  let exp: string;
  try {
    const old = await startLocalPlatform({ port: 0, dataDir });
    try {
      const keel = new KeelClient({ url: old.url });
      exp = await keel.tracking.createExperiment("migrated");
      runId = (await keel.tracking.createRun({ experiment_id: exp, run_name: "old-run" })).info.run_id;
      await keel.tracking.logBatch(runId, {
        metrics: Array.from({ length: 30 }, (_, i) => ({
          key: "loss",
          value: 1 / (i + 1),
          step: i,
          timestamp: i,
        })),
        params: { lr: 0.1 },
      });
    } finally {
      await old.close();
    }
  } finally {
    delete process.env.KEEL_LOCAL_METADATA;
  }

  // More items of every shape, written straight through the DynamoDB adapter, and a second
  // table standing for the online feature store (which stays on dynalite).
  const server = await startDynalite({ path: join(dataDir, "dynamodb") });
  const store = new DynamoDbMetadataStore({ table: "keel", endpoint: server.endpoint });
  const online = new DynamoDbMetadataStore({ table: "keel-online", endpoint: server.endpoint });
  let expected: Item[];
  let expectedOnline: string[];
  try {
    await store.batchPut(
      Array.from({ length: 2500 }, (_, i) => ({
        pk: `bulk#${i % 17}`,
        sk: `item#${String(i).padStart(5, "0")}#é✓`,
        n: i * 1.5,
        neg: -i,
        flag: i % 2 === 0,
        nothing: null,
        text: "x".repeat(i % 300),
        map: { a: { b: [i, `s${i}`, { c: true }] }, empty: {} },
        list: [],
        ...(i % 3 === 0 ? { gsi3pk: `g${i % 5}`, gsi3sk: String(i) } : {}),
      })),
    );
    // The platform created the online store's table; give it rows to carry over.
    const { PutItemCommand } = await import("@aws-sdk/client-dynamodb");
    for (let i = 0; i < 5; i++) {
      await online.client.send(
        new PutItemCommand({ TableName: "keel-online", Item: await onlineRow(online.client, i) }),
      );
    }
    expectedOnline = await rawScan(online.client, "keel-online");
    expected = await allItems(store);
  } finally {
    await store.close();
    await online.close();
    await server.close();
  }
  expect(expected.length).toBeGreaterThan(2500);

  // The new path: first start migrates and says so in one line.
  const printed = vi.spyOn(console, "log").mockImplementation(() => {});
  let lines: string[];
  try {
    const local = await startLocalPlatform({ port: 0, dataDir });
    try {
      const keel = new KeelClient({ url: local.url });
      const run = await keel.tracking.getRun(runId);
      expect(run.info).toMatchObject({ run_name: "old-run", experiment_id: exp });
      expect(run.data.params).toEqual([{ key: "lr", value: "0.1" }]);
      const history = await keel.tracking.getMetricHistory(runId, "loss");
      expect(history.items).toHaveLength(30);
    } finally {
      await local.close();
    }
    lines = printed.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith("Migrated"));
  } finally {
    printed.mockRestore();
  }
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`Migrated ${expected.length} metadata items`);

  const backups = readdirSync(dataDir).filter((f) => f.startsWith("dynamodb.before-sqlite-"));
  expect(backups).toHaveLength(1);
  expect(existsSync(join(dataDir, backups[0], "CURRENT"))).toBe(true);

  // Every item arrived unchanged (the platform's second start added nothing under these keys).
  const sqlite = new SqliteMetadataStore({ path: join(dataDir, "metadata.sqlite") });
  try {
    const migrated = await allItems(sqlite);
    const keys = new Set(expected.map((x) => `${x.pk}\u0000${x.sk}`));
    expect(migrated.filter((x) => keys.has(`${x.pk}\u0000${x.sk}`))).toEqual(expected);
    const page = await sqlite.query({ pk: "g0", index: "gsi3" });
    const inIndex = expected.filter((x) => x.gsi3pk === "g0");
    expect(page.items.map((x) => x.gsi3sk)).toEqual(inIndex.map((x) => x.gsi3sk as string).sort());
  } finally {
    await sqlite.close();
  }

  // The online table was carried over to the fresh dynalite folder; the metadata table was not.
  const after = await startDynalite({ path: join(dataDir, "dynamodb") });
  const carried = new DynamoDbMetadataStore({ table: "keel-online", endpoint: after.endpoint });
  try {
    expect(expectedOnline.length).toBeGreaterThanOrEqual(5);
    expect(await rawScan(carried.client, "keel-online")).toEqual(expectedOnline);
    const { ListTablesCommand } = await import("@aws-sdk/client-dynamodb");
    expect((await carried.client.send(new ListTablesCommand({}))).TableNames).not.toContain("keel");
  } finally {
    await carried.close();
    await after.close();
  }

  // A second start does not migrate again.
  const again = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    const local = await startLocalPlatform({ port: 0, dataDir });
    await local.close();
    expect(again.mock.calls.some((c) => String(c[0]).startsWith("Migrated"))).toBe(false);
  } finally {
    again.mockRestore();
  }
}, 180_000);
