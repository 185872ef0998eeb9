import { createRequire } from "node:module";
import { ConditionFailedError, MetadataError } from "./errors";
import { applyUpdate, holds } from "./item-expressions";
import { checkItemKeys, checkQueryKeys, checkUpdateKeys } from "./key-limits";
import type { Condition, IndexName, Item, Key, MetadataStore, Page, QueryInput, Update } from "./port";
import { incrementAttribute, queryAllPages } from "./port-helpers";

/** The part of better-sqlite3's API this adapter uses (its types are not a dependency). */
interface Statement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface Transaction<A extends unknown[], R> {
  (...args: A): R;
  immediate(...args: A): R;
}
interface Database {
  readonly inTransaction: boolean;
  prepare(sql: string): Statement;
  pragma(source: string, opts?: { simple?: boolean }): unknown;
  exec(sql: string): void;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): Transaction<A, R>;
  close(): void;
}

/** A write queued for the group commit, and what it gave once run. */
interface GroupedWrite {
  op: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  result?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

interface Row {
  pk: string;
  sk: string;
  body: string;
  isk?: string;
}

const INDEXES: IndexName[] = ["gsi1", "gsi2", "gsi3"];
/** DynamoDB's item size limit, so both adapters refuse the same records. */
const MAX_ITEM_BYTES = 400 * 1024;
/** Sorts after every character a key can continue a prefix with (UTF-8 and SQLite BINARY order). */
const MAX_CHAR = "\u{10FFFF}";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS items (
  pk TEXT NOT NULL, sk TEXT NOT NULL, body TEXT NOT NULL,
  ${INDEXES.map((i) => `${i}pk TEXT, ${i}sk TEXT`).join(", ")},
  PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
${INDEXES.map(
  (i) =>
    `CREATE INDEX IF NOT EXISTS items_${i} ON items (${i}pk, ${i}sk, pk, sk) WHERE ${i}pk IS NOT NULL AND ${i}sk IS NOT NULL;`,
).join("\n")}
`;

export interface SqliteStoreOptions {
  /** Database file; ":memory:" for a private in-memory store. */
  path: string;
}

/**
 * MetadataStore on SQLite (better-sqlite3): the local platform's store. One table keyed by
 * (pk, sk) with the item as JSON, and the three GSIs as partial indexes on copied key columns.
 * Sort keys compare byte-wise in UTF-8, as in DynamoDB. Every conditional write is a read and
 * a write inside one IMMEDIATE transaction on the one writer connection, so conditions,
 * counters and updates are atomic without retries, also against other processes on the file.
 * WAL with synchronous=NORMAL: a committed write survives the process being killed.
 *
 * Group commit: the first write in a turn of the event loop runs at once; the writes called
 * after it in the same turn (concurrent requests) run in one transaction at the end of that
 * turn, each inside its own savepoint, in call order: one fails (a condition) without undoing
 * the others, each sees the writes before it, and every promise settles only after the COMMIT
 * that holds its write. So a write is acknowledged only once committed, as before, with one
 * commit per turn for the grouped writes instead of one each.
 */
export class SqliteMetadataStore implements MetadataStore {
  readonly db: Database;
  private readonly statements = new Map<string, Statement>();
  /** Writes waiting for this turn's group commit (undefined: none queued). */
  private group?: GroupedWrite[];
  private groupTimer?: NodeJS.Immediate;
  private readonly commitGroup: Transaction<[GroupedWrite[]], void>;
  private readonly writeItem: Transaction<[Item, Condition | undefined], void>;
  private readonly updateItem: Transaction<[Key, Update, Condition | undefined], Item>;
  private readonly deleteItem: Transaction<[Key, Condition | undefined], void>;
  private readonly writeMany: Transaction<[Item[]], void>;
  private readonly deleteMany: Transaction<[Key[]], void>;

  constructor(opts: SqliteStoreOptions) {
    this.db = openDatabase(opts.path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 10000");
    this.db.exec(SCHEMA);
    this.writeItem = this.db.transaction((item: Item, condition?: Condition) => {
      if (condition) this.check(condition, this.read(item));
      this.write(item);
    });
    this.updateItem = this.db.transaction((key: Key, update: Update, condition?: Condition) => {
      const cur = this.read(key);
      if (condition) this.check(condition, cur);
      const next = applyUpdate(cur ?? { pk: key.pk, sk: key.sk }, update);
      this.write(next);
      return next;
    });
    this.deleteItem = this.db.transaction((key: Key, condition?: Condition) => {
      if (condition) this.check(condition, this.read(key));
      this.stmt("DELETE FROM items WHERE pk = ? AND sk = ?").run(key.pk, key.sk);
    });
    this.writeMany = this.db.transaction((items: Item[]) => {
      for (const it of items) this.write(it);
    });
    this.deleteMany = this.db.transaction((keys: Key[]) => {
      const del = this.stmt("DELETE FROM items WHERE pk = ? AND sk = ?");
      for (const k of keys) del.run(k.pk, k.sk);
    });
    // The write transactions above nest inside this one as savepoints.
    this.commitGroup = this.db.transaction((writes: GroupedWrite[]) => {
      for (const w of writes) {
        try {
          w.result = { ok: true, value: w.op() };
        } catch (error) {
          // An error that ended the whole transaction (SQLite rolled it back): none of the group
          // was written, so fail all of it rather than let the rest run outside a transaction.
          if (!this.db.inTransaction) throw error;
          w.result = { ok: false, error };
        }
      }
    });
  }

  /** Queues a write for this turn's group commit; resolves with its result once committed. */
  private grouped<T>(op: () => T): Promise<T> {
    if (!this.group) {
      // The first write of a turn runs at once in its own transaction (a lone writer waits for
      // nothing); writes after it in the same turn join the group committed at the turn's end.
      this.group = [];
      this.groupTimer = setImmediate(() => this.flush());
      try {
        return Promise.resolve(op());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const group = this.group;
    return new Promise<T>((resolve, reject) => {
      group.push({ op, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Runs the queued writes in one IMMEDIATE transaction, then settles each one's promise. */
  private flush(): void {
    const writes = this.group;
    this.group = undefined;
    clearImmediate(this.groupTimer);
    if (!writes || writes.length === 0) return;
    try {
      this.commitGroup.immediate(writes);
    } catch (e) {
      // BEGIN or COMMIT failed (e.g. the database stayed busy past busy_timeout): nothing was written.
      for (const w of writes) w.reject(e);
      return;
    }
    for (const w of writes) {
      if (w.result?.ok) w.resolve(w.result.value);
      else w.reject(w.result?.error);
    }
  }

  async get(key: Key): Promise<Item | undefined> {
    checkItemKeys(key);
    return this.read(key);
  }

  async batchGet(keys: Key[]): Promise<Item[]> {
    const out: Item[] = [];
    const seen = new Set<string>();
    for (const k of keys) checkItemKeys(k);
    for (const k of keys) {
      const id = `${k.pk}\u0000${k.sk}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const it = this.read(k);
      if (it) out.push(it);
    }
    return out;
  }

  async put(item: Item, opts?: { condition?: Condition }): Promise<void> {
    checkItemKeys(item);
    await this.grouped(() => this.writeItem.immediate(item, opts?.condition));
  }

  /** Writes all items in one transaction: unlike DynamoDB's batches, all or nothing. */
  async batchPut(items: Item[]): Promise<void> {
    for (const it of items) checkItemKeys(it);
    await this.grouped(() => this.writeMany.immediate(items));
  }

  async update(key: Key, update: Update, opts?: { condition?: Condition }): Promise<Item> {
    checkItemKeys(key);
    checkUpdateKeys(update);
    const empty = !["set", "setIfMissing", "remove", "add", "append"].some(
      (k) => (update[k as keyof Update]?.length ?? 0) > 0,
    );
    if (empty) {
      const cur = this.read(key);
      if (!cur) throw new ConditionFailedError("item does not exist");
      return cur;
    }
    return this.grouped(() => this.updateItem.immediate(key, update, opts?.condition));
  }

  async delete(key: Key, opts?: { condition?: Condition }): Promise<void> {
    checkItemKeys(key);
    await this.grouped(() => this.deleteItem.immediate(key, opts?.condition));
  }

  async batchDelete(keys: Key[]): Promise<void> {
    for (const k of keys) checkItemKeys(k);
    await this.grouped(() => this.deleteMany.immediate(keys));
  }

  async query(q: QueryInput): Promise<Page> {
    checkQueryKeys(q);
    const idx = q.index;
    const skCol = idx ? `${idx}sk` : "sk";
    const where = [idx ? `${idx}pk = @pk AND ${idx}sk IS NOT NULL` : "pk = @pk"];
    const params: Record<string, unknown> = { pk: q.pk };
    const dir = q.descending ? "DESC" : "ASC";
    if (q.prefix !== undefined && q.prefix !== "") {
      where.push(
        `${skCol} >= @prefix AND ${skCol} < @prefixEnd AND substr(${skCol}, 1, @prefixLen) = @prefix`,
      );
      Object.assign(params, { prefix: q.prefix, prefixEnd: q.prefix + MAX_CHAR, prefixLen: q.prefix.length });
    } else if (q.between) {
      where.push(`${skCol} BETWEEN @lo AND @hi`);
      Object.assign(params, { lo: q.between[0], hi: q.between[1] });
    } else if (q.after !== undefined) {
      where.push(`${skCol} ${q.descending ? "<" : ">"} @after`);
      params.after = q.after;
    }
    if (q.cursor) {
      const c = decodeCursor(q.cursor, idx);
      const op = q.descending ? "<" : ">";
      where.push(idx ? `(${skCol}, pk, sk) ${op} (@cisk, @cpk, @csk)` : `sk ${op} @csk`);
      Object.assign(params, { cpk: c.pk, csk: c.sk, ...(idx ? { cisk: c[`${idx}sk`] } : {}) });
    }
    const order = idx ? `${skCol} ${dir}, pk ${dir}, sk ${dir}` : `sk ${dir}`;
    const limit = q.limit && q.limit > 0 ? q.limit : undefined;
    const sql =
      `SELECT pk, sk, body${idx ? `, ${skCol} AS isk` : ""} FROM items WHERE ${where.join(" AND ")} ` +
      `ORDER BY ${order}${limit ? " LIMIT @limit" : ""}`;
    if (limit) params.limit = limit + 1;
    const rows = this.stmt(sql).all(params) as Row[];
    const more = limit !== undefined && rows.length > limit;
    const evaluated = more ? rows.slice(0, limit) : rows;
    const items = evaluated.map(toItem);
    const last = evaluated[evaluated.length - 1];
    return {
      items: q.filter ? items.filter((it) => holds(q.filter as Condition, it)) : items,
      cursor: more && last ? encodeCursor(last, idx) : undefined,
    };
  }

  queryAll(q: Omit<QueryInput, "cursor">): Promise<Item[]> {
    return queryAllPages(this, q);
  }

  increment(key: Key, attr: string, by = 1): Promise<number> {
    return incrementAttribute(this, key, attr, by);
  }

  /**
   * Writes every page in one transaction (migration): all of it is there afterwards, or, if
   * anything fails or the process dies, none of it.
   */
  async importAll(pages: AsyncIterable<Item[]>): Promise<number> {
    let n = 0;
    this.flush();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      for await (const page of pages) {
        for (const it of page) this.write(it);
        n += page.length;
      }
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
    return n;
  }

  /** Every item in key order, one page at a time (migration, export). */
  async *scan(pageSize = 1000): AsyncGenerator<Item[]> {
    let after: [string, string] | undefined;
    for (;;) {
      const rows = (
        after
          ? this.stmt("SELECT pk, sk, body FROM items WHERE (pk, sk) > (?, ?) ORDER BY pk, sk LIMIT ?").all(
              after[0],
              after[1],
              pageSize,
            )
          : this.stmt("SELECT pk, sk, body FROM items ORDER BY pk, sk LIMIT ?").all(pageSize)
      ) as Row[];
      if (rows.length) yield rows.map(toItem);
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1];
      after = [last.pk, last.sk];
    }
  }

  async close(): Promise<void> {
    this.flush();
    this.statements.clear();
    this.db.close();
  }

  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private read(key: Key): Item | undefined {
    const row = this.stmt("SELECT pk, sk, body FROM items WHERE pk = ? AND sk = ?").get(key.pk, key.sk) as
      | Row
      | undefined;
    return row ? toItem(row) : undefined;
  }

  private check(condition: Condition, current: Item | undefined): void {
    if (!holds(condition, current)) throw new ConditionFailedError();
  }

  private write(item: Item): void {
    const { pk, sk, ...rest } = item;
    if (typeof pk !== "string" || typeof sk !== "string" || !pk || !sk) {
      throw new MetadataError("INVALID_PARAMETER_VALUE", "an item needs a non-empty string pk and sk");
    }
    // JSON writes NaN and ±Infinity as null: only a body with a null can hold one, so only then
    // is it serialised again with the (slower) replacer that refuses them.
    let body = JSON.stringify(rest);
    if (body.includes("null")) body = JSON.stringify(rest, finiteNumbers);
    if (Buffer.byteLength(body) + pk.length + sk.length > MAX_ITEM_BYTES) {
      throw new MetadataError(
        "INVALID_PARAMETER_VALUE",
        "record too large for the metadata store: Item size has exceeded the maximum allowed size",
      );
    }
    const gsi = INDEXES.flatMap((i) => {
      const ipk = item[`${i}pk`];
      const isk = item[`${i}sk`];
      return typeof ipk === "string" && typeof isk === "string" ? [ipk, isk] : [null, null];
    });
    this.stmt(
      `INSERT OR REPLACE INTO items (pk, sk, body, ${INDEXES.map((i) => `${i}pk, ${i}sk`).join(", ")}) ` +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(pk, sk, body, ...gsi);
  }
}

function openDatabase(path: string): Database {
  // Loaded on first use through a specifier bundlers do not follow: Lambda bundles of anything
  // that imports @keel/metadata neither contain nor require the native module.
  const specifier = "better-sqlite3";
  const Ctor = createRequire(import.meta.url)(specifier) as new (path: string) => Database;
  return new Ctor(path);
}

/** DynamoDB refuses NaN and ±Infinity; JSON would silently turn them into null. */
function finiteNumbers(_key: string, v: unknown): unknown {
  if (typeof v === "number" && !Number.isFinite(v)) {
    throw new MetadataError("INVALID_PARAMETER_VALUE", `the metadata store cannot hold the number ${v}`);
  }
  return v;
}

function toItem(r: Row): Item {
  return { pk: r.pk, sk: r.sk, ...(JSON.parse(r.body) as Record<string, unknown>) };
}

/** Page tokens name the last evaluated key, as DynamoDB's LastEvaluatedKey does. */
function encodeCursor(r: Row, idx: IndexName | undefined): string {
  const k: Record<string, string> = { pk: r.pk, sk: r.sk };
  if (idx && r.isk !== undefined) k[`${idx}sk`] = r.isk;
  return Buffer.from(JSON.stringify(k)).toString("base64url");
}

function decodeCursor(c: string, idx: IndexName | undefined): Record<string, string> {
  try {
    const v = JSON.parse(Buffer.from(c, "base64url").toString("utf8"));
    const ok =
      v &&
      typeof v === "object" &&
      typeof v.pk === "string" &&
      typeof v.sk === "string" &&
      (!idx || typeof v[`${idx}sk`] === "string");
    if (!ok) throw new Error("bad");
    return v;
  } catch {
    throw new MetadataError("INVALID_PARAMETER_VALUE", "invalid page token");
  }
}
