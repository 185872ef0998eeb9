import { availableParallelism } from "node:os";
import type { Connection, Table } from "@lancedb/lancedb";
import { Field, FixedSizeList, Float32, Int32, Schema, Utf8 } from "apache-arrow";
import {
  lanceVectorIndex,
  type VectorIndexSettings,
  type VectorSearchSettings,
  vectorIndexFor,
} from "./vector-index";
import type {
  AccessScope,
  ChunkFilter,
  ChunkRecord,
  IndexSettings,
  IndexState,
  SearchHit,
  SearchOptions,
  VectorStore,
} from "./vector-store";

type LanceDb = typeof import("@lancedb/lancedb");
/**
 * LanceDB is a native module: loaded on first use, by a name bundlers leave alone, so a Lambda
 * bundle that never opens a knowledge base does not carry it (where one does, the function
 * installs `@lancedb/lancedb` for its architecture next to the bundle).
 */
const LANCEDB_MODULE = "@lancedb/lancedb";
let lancedb: Promise<LanceDb> | undefined;
export function loadLanceDb(): Promise<LanceDb> {
  lanceCpuThreads();
  lancedb ??= import(LANCEDB_MODULE) as Promise<LanceDb>;
  return lancedb;
}

/**
 * Lance sizes its CPU pool at the core count minus 2 (kept for I/O), i.e. ONE thread on a
 * 2-core host or a small Lambda; its full-text index writer and the IVF shuffle hand a producer
 * to that pool and then wait for the same pool to flush, so with one thread both deadlock (every
 * thread parked in futex wait, no CPU used: what "stalled" 100k-row builds here were; see lance
 * issues on FTS builds on hosts with <= 2 CPUs). At least 4 threads unless the operator set it.
 */
function lanceCpuThreads(): void {
  process.env.LANCE_CPU_THREADS ??= String(Math.max(4, availableParallelism()));
}

/** SQL string literal for LanceDB (DataFusion) filters: quotes doubled, nothing else interpreted. */
export function sqlString(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

const inList = (column: string, values: string[]) =>
  values.length === 0 ? "false" : `${column} IN (${values.map(sqlString).join(", ")})`;

/** The access scope as a filter: applied inside every query (prefilter), never after the top-k. */
export function scopeSql(scope: AccessScope): string | undefined {
  if ("all" in scope) return undefined;
  return `(${inList("team", scope.teams)} OR ${inList("classification", scope.classifications)})`;
}

export function filterSql(filter: ChunkFilter | undefined): string[] {
  if (!filter) return [];
  const out: string[] = [];
  if (filter.doc) out.push(inList("doc", filter.doc));
  if (filter.team) out.push(inList("team", filter.team));
  if (filter.classification) out.push(inList("classification", filter.classification));
  for (const tag of filter.tags ?? []) out.push(`strpos(tags, ${sqlString(`,${tag},`)}) > 0`);
  if (filter.docPrefix !== undefined) out.push(`starts_with(doc, ${sqlString(filter.docPrefix)})`);
  return out;
}

const COLUMNS = [
  "id",
  "doc",
  "ordinal",
  "text",
  "title",
  "heading",
  "team",
  "classification",
  "tags",
  "tokens",
];
/** How long a collection's row-count search settings are reused before the count is read again. */
const SEARCH_SETTINGS_TTL_MS = 60_000;
/** Small fragments (LanceDB's threshold) at which ingestion compacts the table. */
const COMPACT_SMALL_FRAGMENTS = 16;

type Row = Record<string, unknown>;

/**
 * Scalar indexes for the columns access scopes and filters use, so the prefilter reads an index
 * instead of scanning every row: bitmaps for the low-cardinality ones (a few teams and
 * classifications), a B-tree for document ids (document filters, replace and delete by document).
 */
const SCALAR_INDEXES = [
  { column: "team", kind: "bitmap" },
  { column: "classification", kind: "bitmap" },
  { column: "doc", kind: "btree" },
] as const;

function schemaFor(dims: number | undefined): Schema {
  const fields: Field[] = [
    new Field("id", new Utf8(), false),
    new Field("doc", new Utf8(), false),
    new Field("ordinal", new Int32(), false),
    new Field("text", new Utf8(), false),
    new Field("title", new Utf8(), false),
    new Field("heading", new Utf8(), false),
    new Field("team", new Utf8(), false),
    new Field("classification", new Utf8(), false),
    new Field("tags", new Utf8(), false),
    new Field("tokens", new Int32(), false),
  ];
  if (dims)
    fields.push(new Field("vector", new FixedSizeList(dims, new Field("item", new Float32(), true)), true));
  return new Schema(fields);
}

function toRow(c: ChunkRecord, withVector: boolean): Row {
  const row: Row = {
    id: c.id,
    doc: c.doc,
    ordinal: c.ordinal,
    text: c.text,
    title: c.title,
    heading: c.heading,
    team: c.team,
    classification: c.classification,
    tags: `,${c.tags.join(",")},`,
    tokens: c.tokens,
  };
  if (withVector) row.vector = c.vector;
  return row;
}

function fromRow(r: Row): SearchHit["chunk"] {
  return {
    id: String(r.id),
    doc: String(r.doc),
    ordinal: Number(r.ordinal),
    text: String(r.text),
    title: String(r.title),
    heading: String(r.heading),
    team: String(r.team),
    classification: String(r.classification),
    tags: String(r.tags).split(",").filter(Boolean),
    tokens: Number(r.tokens),
  };
}

/** Table names are derived from collection names Keel validated; this keeps them filesystem-safe. */
const tableName = (collection: string) => `kb_${collection.replace(/[^A-Za-z0-9_-]/g, "_")}`;

/**
 * VectorStore on LanceDB: one table per collection under a root URI (a local folder for
 * `keel dev`, `s3://bucket/prefix` in AWS: queried straight from Lambda, no server). Vector
 * search is cosine; full text is BM25 over an inverted index; both take the access scope and
 * metadata filters as a prefilter.
 */
export class LanceDbVectorStore implements VectorStore {
  private conn?: Promise<Connection>;
  private readonly tables = new Map<string, Promise<Table | undefined>>();
  /**
   * ANN search settings per collection, from its row count (re-read after SEARCH_SETTINGS_TTL_MS,
   * as another process's ingest may have grown the table), or set by `setSearchSettings`.
   */
  private readonly search = new Map<string, { at: number; settings: VectorSearchSettings }>();
  private readonly searchOverride = new Map<string, VectorSearchSettings>();

  /**
   * `readConsistencyInterval`: seconds after which a read checks for commits by other processes
   * (the ingest step's Lambda, another API container); 0 checks on every read.
   */
  constructor(
    private readonly uri: string,
    private readonly storageOptions: Record<string, string> = {},
    private readonly readConsistencyInterval = 2,
  ) {}

  private connection(): Promise<Connection> {
    this.conn ??= loadLanceDb().then((l) =>
      l.connect(this.uri, {
        storageOptions: this.storageOptions,
        readConsistencyInterval: this.readConsistencyInterval,
      }),
    );
    return this.conn;
  }

  private async table(collection: string): Promise<Table | undefined> {
    let t = this.tables.get(collection);
    if (!t) {
      t = (async () => {
        const conn = await this.connection();
        const names = await conn.tableNames();
        return names.includes(tableName(collection)) ? conn.openTable(tableName(collection)) : undefined;
      })();
      this.tables.set(collection, t);
      // A miss is not cached: the table may be created by another process later.
      if (!(await t)) this.tables.delete(collection);
    }
    return t;
  }

  private async createTable(collection: string, dims: number | undefined): Promise<Table> {
    const conn = await this.connection();
    const table = await conn.createEmptyTable(tableName(collection), schemaFor(dims), { existOk: true });
    this.tables.set(collection, Promise.resolve(table));
    return table;
  }

  private async hasVector(table: Table): Promise<boolean> {
    return (await table.schema()).fields.some((f) => f.name === "vector");
  }

  async replaceDocuments(collection: string, docs: string[], chunks: ChunkRecord[]): Promise<void> {
    if (docs.length === 0) return;
    let table = await this.table(collection);
    if (!table) {
      if (chunks.length === 0) return;
      table = await this.createTable(collection, chunks.find((c) => c.vector)?.vector?.length);
    }
    if (chunks.length === 0) {
      await table.delete(inList("doc", docs));
      return;
    }
    const withVector = await this.hasVector(table);
    const rows = chunks.map((c) => toRow(c, withVector));
    // Documents with no chunks yet (a first ingest, new files): a plain append. Merging against
    // the table scans all of it per write, which made a large first ingest quadratic.
    if ((await table.countRows(inList("doc", docs))) === 0) {
      await table.add(rows);
      return;
    }
    // One commit: matched ids updated, new ones inserted, the documents' other chunks deleted.
    await table
      .mergeInsert("id")
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .whenNotMatchedBySourceDelete({ where: inList("doc", docs) })
      .execute(rows);
  }

  async deleteDocuments(collection: string, docs: string[]): Promise<void> {
    const table = await this.table(collection);
    if (table && docs.length > 0) await table.delete(inList("doc", docs));
  }

  private where(opts: SearchOptions): string | undefined {
    const parts = [scopeSql(opts.scope), ...filterSql(opts.filter)].filter((p): p is string => !!p);
    return parts.length ? parts.join(" AND ") : undefined;
  }

  async vectorSearch(collection: string, vector: number[], opts: SearchOptions): Promise<SearchHit[]> {
    const table = await this.table(collection);
    if (!table || !(await this.hasVector(table))) return [];
    let q = table
      .vectorSearch(vector)
      .distanceType("cosine")
      .select([...COLUMNS, "_distance"])
      .limit(opts.k);
    if (opts.exact) q = q.bypassVectorIndex();
    else {
      const s = await this.searchSettings(collection, table);
      q = q.nprobes(s.nprobes);
      if (s.refineFactor) q = q.refineFactor(s.refineFactor);
      if (s.ef) q = q.ef(s.ef);
    }
    const where = this.where(opts);
    if (where) q = q.where(where);
    const rows = (await q.toArray()) as Row[];
    return rows.map((r) => ({ chunk: fromRow(r), score: 1 - Number(r._distance) }));
  }

  /** Overrides the row-count search settings of a collection (benchmarks, operators); undefined resets. */
  setSearchSettings(collection: string, settings: VectorSearchSettings | undefined): void {
    if (settings) this.searchOverride.set(collection, settings);
    else this.searchOverride.delete(collection);
  }

  private async searchSettings(collection: string, table: Table): Promise<VectorSearchSettings> {
    const set = this.searchOverride.get(collection);
    if (set) return set;
    const cached = this.search.get(collection);
    if (cached && Date.now() - cached.at < SEARCH_SETTINGS_TTL_MS) return cached.settings;
    const settings = vectorIndexFor(await table.countRows(), await this.dims(table)).search;
    this.search.set(collection, { at: Date.now(), settings });
    return settings;
  }

  private async dims(table: Table): Promise<number> {
    const f = (await table.schema()).fields.find((x) => x.name === "vector");
    return f ? (f.type as FixedSizeList).listSize : 0;
  }

  async textSearch(collection: string, query: string, opts: SearchOptions): Promise<SearchHit[]> {
    const table = await this.table(collection);
    if (!table || !query.trim()) return [];
    let q = table
      .query()
      .fullTextSearch(query, { columns: "text" })
      .select([...COLUMNS, "_score"])
      .limit(opts.k);
    const where = this.where(opts);
    if (where) q = q.where(where);
    try {
      const rows = (await q.toArray()) as Row[];
      return rows.map((r) => ({ chunk: fromRow(r), score: Number(r._score) }));
    } catch (e) {
      // No inverted index yet (a collection written but never indexed): nothing to match on.
      if (/index/i.test((e as Error).message)) return [];
      throw e;
    }
  }

  async count(collection: string, scope: AccessScope = { all: true }): Promise<number> {
    const table = await this.table(collection);
    if (!table) return 0;
    return table.countRows(scopeSql(scope));
  }

  async updateIndexes(collection: string, settings: IndexSettings): Promise<IndexState> {
    const table = await this.table(collection);
    if (!table) return { rows: 0, vectorIndex: false, textIndex: false };
    const rows = await table.countRows();
    const indices = await table.listIndices();
    const { Index } = await loadLanceDb();
    const indexed = (column: string) => indices.some((i) => i.columns.includes(column));
    let textIndex = indexed("text");
    let vectorIndex = indexed("vector");
    const hasVector = await this.hasVector(table);
    const buildText = !textIndex && rows > 0;
    const buildVector = hasVector && !vectorIndex && rows >= settings.annMinRows;
    const buildScalar = rows > 0 ? SCALAR_INDEXES.filter((s) => !indexed(s.column)) : [];
    const { fragmentStats } = await table.stats();
    // Each ingest batch appends a fragment: compact them first, so an index is trained and
    // written over a few large files rather than hundreds of small ones (and searches open fewer).
    const compact = fragmentStats.numSmallFragments >= COMPACT_SMALL_FRAGMENTS;
    const building = buildText || buildVector || buildScalar.length > 0;
    if (building && compact) await table.optimize();
    for (const s of buildScalar)
      await table.createIndex(s.column, { config: s.kind === "bitmap" ? Index.bitmap() : Index.btree() });
    if (buildText) {
      await table.createIndex("text", { config: Index.fts({ withPosition: false }) });
      textIndex = true;
    }
    if (buildVector) {
      await this.buildVectorIndex(collection);
      vectorIndex = true;
    }
    // Folds rows written since into the indexes (vector, BM25, scalar), and compacts small fragments.
    if (!building && (compact || indices.some((i) => i.numUnindexedRows))) await table.optimize();
    this.search.delete(collection);
    return { rows, vectorIndex, textIndex };
  }

  /**
   * (Re)builds the vector index: `settings`, or those for the table's row count
   * (`vectorIndexFor`). Returns what was built.
   */
  async buildVectorIndex(collection: string, settings?: VectorIndexSettings): Promise<VectorIndexSettings> {
    const table = await this.table(collection);
    if (!table) throw new Error(`no table for collection ${collection}`);
    const dims = await this.dims(table);
    if (!dims) throw new Error(`collection ${collection} has no vectors`);
    const { Index } = await loadLanceDb();
    const rows = await table.countRows();
    const index = settings ?? vectorIndexFor(rows, dims).index;
    await table.createIndex("vector", { config: lanceVectorIndex(Index, index), replace: true });
    this.search.delete(collection);
    return index;
  }

  async dropCollection(collection: string): Promise<void> {
    const conn = await this.connection();
    const t = await this.table(collection);
    t?.close();
    this.tables.delete(collection);
    this.search.delete(collection);
    if ((await conn.tableNames()).includes(tableName(collection)))
      await conn.dropTable(tableName(collection));
  }

  async close(): Promise<void> {
    for (const t of this.tables.values()) (await t)?.close();
    this.tables.clear();
    if (this.conn) (await this.conn).close();
    this.conn = undefined;
  }
}
