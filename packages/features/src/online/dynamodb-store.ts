import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import { createDynamoDbClient } from "@keel/metadata";
import { FeaturesError } from "../errors";
import {
  latestPerEntity,
  mapBounded,
  type OnlineRecord,
  type OnlineStore,
  type OnlineViewInfo,
  type OnlineWrite,
  type OnlineWriteResult,
  remainingTtlSeconds,
} from "./port";

export interface DynamoDbOnlineOptions {
  table: string;
  endpoint?: string;
  region?: string;
  client?: DynamoDBClient;
  /** Creates the table in ensureSchema (local use); in AWS the stack owns it. */
  manageTable?: boolean;
  /** Point writes in flight at once. */
  writeConcurrency?: number;
  consistentRead?: boolean;
}

const itemKey = (view: string, entityKey: string) => `${view}#${entityKey}`;
const BATCH_GET_LIMIT = 100;

/**
 * OnlineStore on DynamoDB: one item per (view, entity key) holding the values as one JSON
 * attribute. Each write is a PutItem conditional on the stored event/created time being
 * older, so late or replayed rows lose without a read first. `exp` (epoch seconds) is the
 * table's TTL attribute in AWS.
 */
export class DynamoDbOnlineStore implements OnlineStore {
  readonly client: DynamoDBClient;

  constructor(private readonly opts: DynamoDbOnlineOptions) {
    this.client = opts.client ?? createDynamoDbClient(opts);
  }

  async ensureSchema(): Promise<void> {
    if (!this.opts.manageTable) return;
    try {
      await this.client.send(
        new CreateTableCommand({
          TableName: this.opts.table,
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
    } catch (e) {
      if (!(e instanceof ResourceInUseException)) throw e;
    }
    for (let i = 0; i < 200; i++) {
      const d = await this.client.send(new DescribeTableCommand({ TableName: this.opts.table }));
      if (d.Table?.TableStatus === "ACTIVE") return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new FeaturesError("INTERNAL_ERROR", `online table ${this.opts.table} did not become active`);
  }

  async write(view: OnlineViewInfo, rows: OnlineWrite[], nowMs: number): Promise<OnlineWriteResult> {
    const latest = latestPerEntity(rows);
    let written = 0;
    let skipped = rows.length - latest.length;
    await mapBounded(latest, this.opts.writeConcurrency ?? 32, async (r) => {
      const left = remainingTtlSeconds(view.ttlSeconds, r.eventTs, nowMs);
      if (left !== undefined && left <= 0) {
        skipped++;
        return;
      }
      const item: Record<string, AttributeValue> = {
        pk: { S: itemKey(view.name, r.entityKey) },
        ts: { N: String(r.eventTs) },
        cts: { N: String(r.createdTs) },
        v: { S: JSON.stringify(r.values) },
      };
      if (view.ttlSeconds > 0) item.exp = { N: String(Math.ceil(r.eventTs / 1000) + view.ttlSeconds) };
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.opts.table,
            Item: item,
            ConditionExpression: "attribute_not_exists(pk) OR ts < :ts OR (ts = :ts AND cts <= :cts)",
            ExpressionAttributeValues: { ":ts": item.ts, ":cts": item.cts },
          }),
        );
        written++;
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
        skipped++;
      }
    });
    return { written, skipped };
  }

  async read(view: string, entityKeys: string[]): Promise<Array<OnlineRecord | undefined>> {
    const found = new Map<string, OnlineRecord>();
    const unique = [...new Set(entityKeys.map((k) => itemKey(view, k)))];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT)
      chunks.push(unique.slice(i, i + BATCH_GET_LIMIT));
    await Promise.all(
      chunks.map(async (keys) => {
        let pending: Record<string, AttributeValue>[] | undefined = keys.map((k) => ({ pk: { S: k } }));
        for (let attempt = 0; pending?.length; attempt++) {
          if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(200, 10 * 2 ** attempt)));
          const res: BatchGetItemCommandOutput = await this.client.send(
            new BatchGetItemCommand({
              RequestItems: {
                [this.opts.table]: {
                  Keys: pending,
                  ProjectionExpression: "pk, ts, cts, v",
                  ConsistentRead: this.opts.consistentRead ?? false,
                },
              },
            }),
          );
          for (const it of res.Responses?.[this.opts.table] ?? []) {
            found.set(it.pk.S as string, {
              eventTs: Number(it.ts.N),
              createdTs: Number(it.cts?.N ?? 0),
              values: JSON.parse(it.v.S as string),
            });
          }
          pending = res.UnprocessedKeys?.[this.opts.table]?.Keys;
        }
      }),
    );
    return entityKeys.map((k) => found.get(itemKey(view, k)));
  }

  async close(): Promise<void> {
    if (!this.opts.client) this.client.destroy();
  }
}
