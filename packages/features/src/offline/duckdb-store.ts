import { randomUUID } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import type { FileSource } from "../definitions";
import { invalidFeatures } from "../errors";
import { inferColumns, inferSqlColumns, rowsToParquet } from "./parquet-rows";
import { buildLatestSql, buildPitSql } from "./pit-sql";
import {
  type AppendColumn,
  type EntitySource,
  type JoinOutput,
  type OfflineStore,
  type Row,
  rechunk,
  type SqlColumn,
} from "./port";

export interface DuckDbOfflineOptions {
  /** Local directory standing in for S3: s3://bucket/key is read from <root>/bucket/key. */
  root: string;
  /** DuckDB worker threads (default: DuckDB's own choice). */
  threads?: number;
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * OfflineStore over local Parquet with an in-process DuckDB. Each operation opens its own
 * connection on one shared database instance, so concurrent joins do not queue on one another.
 */
export class DuckDbOfflineStore implements OfflineStore {
  private instance?: Promise<DuckDBInstance>;
  private readonly root: string;

  constructor(private readonly opts: DuckDbOfflineOptions) {
    this.root = resolve(opts.root);
  }

  /** The local path behind a source path or s3:// URI. */
  localPath(path: string): string {
    if (path.startsWith("s3://")) {
      const local = join(this.root, path.slice("s3://".length));
      return path.endsWith("/") && !local.endsWith("/") ? `${local}/` : local;
    }
    return path;
  }

  private relation(path: string): string {
    const local = this.localPath(path);
    return local.endsWith("/")
      ? `read_parquet(${sqlString(`${local}**/*.parquet`)}, union_by_name = true)`
      : `read_parquet(${sqlString(local)})`;
  }

  private async connect(): Promise<DuckDBConnection> {
    // Loaded on first use: DuckDB is a native module kept out of Lambda bundles, where Athena serves.
    this.instance ??= import("@duckdb/node-api").then(({ DuckDBInstance }) =>
      DuckDBInstance.create(
        ":memory:",
        this.opts.threads ? { threads: String(this.opts.threads) } : undefined,
      ),
    );
    return (await this.instance).connect();
  }

  private async withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await this.connect();
    try {
      return await fn(conn);
    } finally {
      conn.closeSync();
    }
  }

  private async describe(relation: string, what: string): Promise<SqlColumn[]> {
    return this.withConnection(async (c) => {
      try {
        const r = await c.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
        return r
          .getRowObjectsJS()
          .map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
      } catch (e) {
        throw invalidFeatures(`${what}: cannot read Parquet data: ${firstLine(e)}`, undefined, e);
      }
    });
  }

  describeSource(source: FileSource): Promise<SqlColumn[]> {
    return this.describe(this.relation(source.path), `source '${source.name}' (${source.path})`);
  }

  async registerSource(): Promise<void> {}

  async describeEntities(entities: EntitySource): Promise<SqlColumn[]> {
    if ("path" in entities)
      return this.describe(this.relation(entities.path), `entity file '${entities.path}'`);
    return inferSqlColumns(entities.rows);
  }

  async pointInTimeJoin(
    entities: EntitySource,
    sources: FileSource[],
    spec: Parameters<OfflineStore["pointInTimeJoin"]>[2],
    output: JoinOutput,
  ): Promise<{ rows?: Row[]; rowCount: number }> {
    const staged = "rows" in entities ? this.stageRows(entities.rows) : undefined;
    try {
      const sql = buildPitSql({
        entities: this.relation(staged ?? (entities as { path: string }).path),
        entityColumns: spec.entityColumns,
        views: spec.views.map((v, i) => ({ ...v, relation: this.relation(sources[i].path) })),
      });
      return await this.withConnection(async (c) => {
        if (output.kind === "rows") {
          const r = await c.runAndReadAll(sql);
          const rows = r.getRowObjectsJS().map(plainRow);
          return { rows, rowCount: rows.length };
        }
        const target = resolve(this.localPath(output.path));
        mkdirSync(dirname(target), { recursive: true });
        const tmp = `${target}.${randomUUID()}.tmp`;
        try {
          const r = await c.run(`COPY (${sql}) TO ${sqlString(tmp)} (FORMAT PARQUET)`);
          renameSync(tmp, target);
          return { rowCount: r.rowsChanged };
        } finally {
          rmSync(tmp, { force: true });
        }
      });
    } finally {
      if (staged) rmSync(dirname(staged), { recursive: true, force: true });
    }
  }

  async *latestRows(
    source: FileSource,
    spec: Parameters<OfflineStore["latestRows"]>[1],
    chunkSize: number,
  ): AsyncIterable<Row[]> {
    const conn = await this.connect();
    try {
      const result = await conn.stream(buildLatestSql({ ...spec, relation: this.relation(source.path) }));
      async function* plain() {
        for await (const rows of result.yieldRowObjectJs()) yield rows.map(plainRow);
      }
      yield* rechunk(plain(), chunkSize);
    } finally {
      conn.closeSync();
    }
  }

  async append(source: FileSource, columns: AppendColumn[], rows: Row[]): Promise<string> {
    const dir = this.localPath(source.path);
    if (!dir.endsWith("/"))
      throw invalidFeatures(`source '${source.name}' is a file, not a prefix: cannot append`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `push-${Date.now()}-${randomUUID()}.parquet`);
    // Written under a name the source's glob does not match, then renamed: readers see all or nothing.
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, Buffer.from(rowsToParquet(columns, rows)));
    renameSync(tmp, file);
    return file;
  }

  /** Entity rows held in memory, written as a temporary Parquet file the join reads. */
  private stageRows(rows: Row[]): string {
    const dir = join(tmpdir(), `keel-entities-${randomUUID()}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "entities.parquet");
    writeFileSync(file, Buffer.from(rowsToParquet(inferColumns(rows), rows)));
    return file;
  }

  async close(): Promise<void> {
    const inst = await this.instance;
    inst?.closeSync();
    this.instance = undefined;
  }
}

/** DuckDB values as plain JS: safe bigints become numbers, timestamps stay Dates. */
function plainRow(r: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) {
    out[k] =
      typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
        ? Number(v)
        : v;
  }
  return out;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
