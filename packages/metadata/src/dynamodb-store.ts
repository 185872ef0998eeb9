import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  ResourceInUseException,
  ScanCommand,
  UpdateItemCommand,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { AWS_CALL_TIMEOUTS } from "@keel/core";
import { createTableInput } from "./dynamodb-schema";
import { ConditionFailedError, MetadataError } from "./errors";
import { ExpressionBuilder, usesItemExistence } from "./expressions";
import { checkItemKeys, checkQueryKeys, checkUpdateKeys } from "./key-limits";
import type { Condition, Item, Key, MetadataStore, Page, QueryInput, Update } from "./port";
import { incrementAttribute, queryAllPages } from "./port-helpers";

export interface DynamoDbStoreOptions {
  table: string;
  /** A DynamoDB-compatible endpoint (dynalite locally); omitted in AWS. */
  endpoint?: string;
  region?: string;
  client?: DynamoDBClient;
}

const MARSHALL = { removeUndefinedValues: true, convertClassInstanceToMap: true } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A DynamoDB client for AWS (default credential chain) or, given an endpoint, for a local
 * DynamoDB-compatible server such as dynalite, which accepts any credentials.
 */
export function createDynamoDbClient(opts: { region?: string; endpoint?: string }): DynamoDBClient {
  return new DynamoDBClient({
    region: opts.region ?? "us-east-1",
    endpoint: opts.endpoint,
    credentials: opts.endpoint ? { accessKeyId: "local", secretAccessKey: "local" } : undefined,
    maxAttempts: 5,
    ...AWS_CALL_TIMEOUTS,
  });
}

/** MetadataStore on one DynamoDB table (see dynamodb-schema.ts for its keys). */
export class DynamoDbMetadataStore implements MetadataStore {
  readonly client: DynamoDBClient;
  readonly table: string;

  constructor(opts: DynamoDbStoreOptions) {
    this.table = opts.table;
    this.client = opts.client ?? createDynamoDbClient(opts);
  }

  /** Creates the table when it does not exist (local platform and tests; AWS tables come from the stack). */
  async ensureTable(): Promise<void> {
    try {
      await this.client.send(new CreateTableCommand(createTableInput(this.table)));
    } catch (e) {
      if (!(e instanceof ResourceInUseException)) throw e;
    }
    for (let i = 0; i < 200; i++) {
      const d = await this.client.send(new DescribeTableCommand({ TableName: this.table }));
      if (d.Table?.TableStatus === "ACTIVE") return;
      await sleep(25);
    }
    throw new MetadataError("INTERNAL_ERROR", `table ${this.table} did not become active`);
  }

  async get(key: Key, opts?: { consistent?: boolean }): Promise<Item | undefined> {
    checkItemKeys(key);
    const r = await this.run(() =>
      this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: marshall(key),
          ConsistentRead: opts?.consistent ?? true,
        }),
      ),
    );
    return r.Item ? (unmarshall(r.Item) as Item) : undefined;
  }

  async batchGet(keys: Key[]): Promise<Item[]> {
    const out: Item[] = [];
    const unique = dedupeKeys(keys);
    for (const k of unique) checkItemKeys(k);
    for (let i = 0; i < unique.length; i += 100) {
      let pending: Record<string, AttributeValue>[] = unique.slice(i, i + 100).map((k) => marshall(k));
      for (let attempt = 0; pending.length; attempt++) {
        const r = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        for (const it of r.Responses?.[this.table] ?? []) out.push(unmarshall(it) as Item);
        pending = r.UnprocessedKeys?.[this.table]?.Keys ?? [];
        if (pending.length) await backoff(attempt);
      }
    }
    return out;
  }

  async put(item: Item, opts?: { condition?: Condition }): Promise<void> {
    checkItemKeys(item);
    const b = new ExpressionBuilder();
    const cond = opts?.condition ? this.cond(b, opts.condition) : undefined;
    await this.run(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: marshall(item, MARSHALL),
          ConditionExpression: cond,
          ...(cond ? b.attrs() : {}),
        }),
      ),
    );
  }

  async batchPut(items: Item[]): Promise<void> {
    for (const it of items) checkItemKeys(it);
    await this.batchWrite(items.map((it) => ({ PutRequest: { Item: marshall(it, MARSHALL) } })));
  }

  async batchDelete(keys: Key[]): Promise<void> {
    for (const k of keys) checkItemKeys(k);
    await this.batchWrite(dedupeKeys(keys).map((k) => ({ DeleteRequest: { Key: marshall(k) } })));
  }

  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < requests.length; i += 25) chunks.push(requests.slice(i, i + 25));
    // A few chunks in flight at once: BatchWrite is the bulk path (log-batch, materialization).
    const inFlight = 4;
    for (let i = 0; i < chunks.length; i += inFlight) {
      await Promise.all(
        chunks.slice(i, i + inFlight).map(async (chunk) => {
          let pending = chunk;
          for (let attempt = 0; pending.length; attempt++) {
            const r = await this.run(() =>
              this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: pending } })),
            );
            pending = r.UnprocessedItems?.[this.table] ?? [];
            if (pending.length) await backoff(attempt);
          }
        }),
      );
    }
  }

  async update(key: Key, update: Update, opts?: { condition?: Condition }): Promise<Item> {
    checkItemKeys(key);
    checkUpdateKeys(update);
    const b = new ExpressionBuilder();
    const expr = b.update(update);
    const cond = opts?.condition ? this.cond(b, opts.condition) : undefined;
    if (!expr) {
      const cur = await this.get(key);
      if (!cur) throw new ConditionFailedError("item does not exist");
      return cur;
    }
    const r = await this.run(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall(key),
          UpdateExpression: expr,
          ConditionExpression: cond,
          ReturnValues: "ALL_NEW",
          ...b.attrs(),
        }),
      ),
    );
    return unmarshall(r.Attributes ?? {}) as Item;
  }

  async delete(key: Key, opts?: { condition?: Condition }): Promise<void> {
    checkItemKeys(key);
    const b = new ExpressionBuilder();
    const cond = opts?.condition ? this.cond(b, opts.condition) : undefined;
    await this.run(() =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: marshall(key),
          ConditionExpression: cond,
          ...(cond ? b.attrs() : {}),
        }),
      ),
    );
  }

  async query(q: QueryInput): Promise<Page> {
    checkQueryKeys(q);
    const b = new ExpressionBuilder();
    const pkName = q.index ? `${q.index}pk` : "pk";
    const skName = q.index ? `${q.index}sk` : "sk";
    let keyCond = `${b.path(pkName)} = ${b.value(q.pk)}`;
    const sk = () => b.path(skName);
    if (q.prefix !== undefined && q.prefix !== "")
      keyCond += ` AND begins_with(${sk()}, ${b.value(q.prefix)})`;
    else if (q.between)
      keyCond += ` AND ${sk()} BETWEEN ${b.value(q.between[0])} AND ${b.value(q.between[1])}`;
    else if (q.after !== undefined) keyCond += ` AND ${sk()} ${q.descending ? "<" : ">"} ${b.value(q.after)}`;
    const filter = q.filter ? this.cond(b, q.filter) : undefined;
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: q.index,
      KeyConditionExpression: keyCond,
      FilterExpression: filter,
      ScanIndexForward: !q.descending,
      Limit: q.limit,
      ConsistentRead: q.index ? false : (q.consistent ?? true),
      ExclusiveStartKey: q.cursor ? decodeCursor(q.cursor) : undefined,
      ...b.attrs(),
    };
    const r = await this.run(() => this.client.send(new QueryCommand(input)));
    return {
      items: (r.Items ?? []).map((it) => unmarshall(it) as Item),
      cursor: r.LastEvaluatedKey ? encodeCursor(r.LastEvaluatedKey) : undefined,
    };
  }

  queryAll(q: Omit<QueryInput, "cursor">): Promise<Item[]> {
    return queryAllPages(this, q);
  }

  increment(key: Key, attr: string, by = 1): Promise<number> {
    return incrementAttribute(this, key, attr, by);
  }

  /** Every item of the table, one Scan page at a time (migration, export; not a request path). */
  async *scan(): AsyncGenerator<Item[]> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const r = await this.client.send(
        new ScanCommand({ TableName: this.table, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      yield (r.Items ?? []).map((it) => unmarshall(it) as Item);
      start = r.LastEvaluatedKey;
    } while (start);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private cond(b: ExpressionBuilder, c: Condition): string {
    if (usesItemExistence(c)) b.withKeyName();
    return b.condition(c);
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) throw new ConditionFailedError();
      const name = (e as { name?: string }).name;
      const message = (e as Error).message ?? "";
      if (name === "ValidationException" && /size/i.test(message)) {
        throw new MetadataError(
          "INVALID_PARAMETER_VALUE",
          `record too large for the metadata store: ${message}`,
          undefined,
          { cause: e },
        );
      }
      throw e;
    }
  }
}

function dedupeKeys(keys: Key[]): Key[] {
  const seen = new Set<string>();
  const out: Key[] = [];
  for (const k of keys) {
    const id = `${k.pk}\u0000${k.sk}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push({ pk: k.pk, sk: k.sk });
    }
  }
  return out;
}

function encodeCursor(k: Record<string, AttributeValue>): string {
  return Buffer.from(JSON.stringify(unmarshall(k))).toString("base64url");
}

function decodeCursor(c: string): Record<string, AttributeValue> {
  try {
    const v = JSON.parse(Buffer.from(c, "base64url").toString("utf8"));
    if (!v || typeof v !== "object" || typeof v.pk !== "string") throw new Error("bad");
    return marshall(v);
  } catch {
    throw new MetadataError("INVALID_PARAMETER_VALUE", "invalid page token");
  }
}

async function backoff(attempt: number) {
  await sleep(Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random() / 2));
}
