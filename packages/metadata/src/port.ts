/**
 * MetadataStore: the one port behind tracking, the registry, pipeline runs and the audit log.
 * It is a single-table, key-sorted item store shaped after DynamoDB (the production adapter;
 * the local platform uses the SQLite adapter) but expressed without DynamoDB's expression
 * strings, so domain code stays readable.
 *
 * Items live under a partition key `pk` and a sort key `sk`. Three optional secondary
 * indexes are addressed by the attributes `gsi1pk/gsi1sk`, `gsi2pk/gsi2sk`, `gsi3pk/gsi3sk`;
 * an item appears in an index only if it has both attributes. Index reads are eventually
 * consistent; base-table `get` and `query` can be strongly consistent.
 *
 * There are no multi-item transactions (dynalite lacks them): correctness under concurrency
 * comes from single-item conditional writes. A failed condition throws `ConditionFailedError`
 * and changes nothing.
 */
export interface Key {
  pk: string;
  sk: string;
}

export type Item = Key & Record<string, unknown>;

/** A path into an item: ["params", "lr"] addresses the map entry `params.lr`. */
export type Path = string | string[];

export type Condition =
  | { exists: true }
  | { exists: false }
  | { path: Path; exists: boolean }
  | { path: Path; eq: unknown }
  | { path: Path; ne: unknown }
  | { path: Path; lt: number | string }
  | { path: Path; le: number | string }
  | { path: Path; gt: number | string }
  | { path: Path; ge: number | string }
  | { and: Condition[] }
  | { or: Condition[] }
  | { not: Condition };

export interface Update {
  /** Set attributes (or nested map entries) to values. */
  set?: Array<[Path, unknown]>;
  /** Set only where the attribute does not exist yet. */
  setIfMissing?: Array<[Path, unknown]>;
  /** Remove attributes or map entries. */
  remove?: Path[];
  /** Atomically add to numeric attributes (created as 0 when missing). */
  add?: Array<[Path, number]>;
  /** Append to list attributes (created empty when missing). */
  append?: Array<[Path, unknown[]]>;
}

export type IndexName = "gsi1" | "gsi2" | "gsi3";

export interface QueryInput {
  /** Partition to read: the base table's pk, or the index's partition attribute value. */
  pk: string;
  index?: IndexName;
  /** Sort key begins with. */
  prefix?: string;
  /** Sort key range, inclusive at both ends. */
  between?: [string, string];
  /** Sort key strictly greater than (or, descending, strictly less than) this. */
  after?: string;
  limit?: number;
  /** Opaque token from a previous page. */
  cursor?: string;
  descending?: boolean;
  consistent?: boolean;
  /** Applied after the key condition; pages may then hold fewer items than `limit`. */
  filter?: Condition;
}

export interface Page<T = Item> {
  items: T[];
  /** Present when more items may follow. */
  cursor?: string;
}

export interface MetadataStore {
  /** Reads one item; undefined when absent. Strongly consistent unless told otherwise. */
  get(key: Key, opts?: { consistent?: boolean }): Promise<Item | undefined>;
  /** Reads many items by key (any order, absent ones omitted). */
  batchGet(keys: Key[]): Promise<Item[]>;
  /** Writes a whole item. With `condition`, throws ConditionFailedError if it does not hold. */
  put(item: Item, opts?: { condition?: Condition }): Promise<void>;
  /**
   * Writes many items without conditions, in as few requests as the backend allows
   * (25 per request for DynamoDB), retrying unprocessed items. Not atomic across items.
   */
  batchPut(items: Item[]): Promise<void>;
  /** Applies an update to one item atomically and returns the item as it is afterwards. */
  update(key: Key, update: Update, opts?: { condition?: Condition }): Promise<Item>;
  /** Deletes one item; with `condition`, only if it holds. Deleting an absent item is not an error. */
  delete(key: Key, opts?: { condition?: Condition }): Promise<void>;
  /** Deletes many items (unconditionally), batched. */
  batchDelete(keys: Key[]): Promise<void>;
  /** Reads items of one partition in sort-key order, one page at a time. */
  query(input: QueryInput): Promise<Page>;
  /** Reads every page of a query. For partitions known to be bounded. */
  queryAll(input: Omit<QueryInput, "cursor">): Promise<Item[]>;
  /** Atomically increments a numeric attribute (creating the item) and returns the new value. */
  increment(key: Key, attr: string, by?: number): Promise<number>;
  /** Releases connections. */
  close(): Promise<void>;
}
