import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DuckDBInstance } from "@duckdb/node-api";
import { KeelError } from "@keel/core";
import { duckDbDialect, type SqlDialect } from "./dialect";

export type Row = Record<string, unknown>;
export interface Column {
  name: string;
  type: string;
}

/** What a dataset's metadata says of a column, exactly (Parquet statistics of every row group). */
export interface ColumnStats {
  nulls?: number;
  /** Integer columns only: the smallest and largest value. */
  min?: number;
  max?: number;
}

/** A dataset made queryable: the SQL relation reading it, its columns, and what undoes the opening. */
export interface OpenedDataset {
  relation: string;
  columns: Column[];
  /** Exact figures from file metadata, when every file and row group carries them (DuckDB). */
  stats?: Map<string, ColumnStats>;
  /** Drops whatever was created to read the dataset (Athena's temporary table); idempotent. */
  release(): Promise<void>;
}

/**
 * ValidationEngine: runs the suite's SQL over a Parquet dataset. DuckDB runs it over local
 * files (s3:// URIs mapped under a local root, as the offline store does); Athena runs the
 * same SQL, spelled in its dialect, over the files in S3 (athena-engine.ts).
 */
export interface ValidationEngine {
  readonly dialect: SqlDialect;
  /** Opens a dataset; INVALID_PARAMETER_VALUE naming the dataset when it cannot be read. */
  open(dataset: string): Promise<OpenedDataset>;
  query(sql: string): Promise<Row[]>;
  close(): Promise<void>;
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

export interface DuckDbEngineOptions {
  /** The local directory standing in for S3 (s3://bucket/key -> <root>/bucket/key). */
  offlineRoot?: string;
  threads?: number;
}

export class DuckDbValidationEngine implements ValidationEngine {
  readonly dialect = duckDbDialect;
  private instance?: Promise<DuckDBInstance>;

  constructor(private readonly opts: DuckDbEngineOptions = {}) {}

  /** The local path behind a path or s3:// URI. */
  localPath(dataset: string): string {
    const path = dataset.startsWith("file://") ? dataset.slice("file://".length) : dataset;
    if (!path.startsWith("s3://")) return path;
    if (!this.opts.offlineRoot)
      throw new KeelError(
        "INVALID_PARAMETER_VALUE",
        `cannot read ${dataset} here: no offline root maps s3://`,
      );
    return join(resolve(this.opts.offlineRoot), path.slice("s3://".length));
  }

  /** The file or glob of files behind a dataset. */
  private files(dataset: string): { glob: string; dir: boolean } {
    const local = this.localPath(dataset);
    const dir = local.endsWith("/") || (existsSync(local) && statSync(local).isDirectory());
    return { glob: dir ? join(local, "**/*.parquet") : local, dir };
  }

  relation(dataset: string): string {
    const { glob, dir } = this.files(dataset);
    return dir
      ? `read_parquet(${sqlString(glob)}, union_by_name = true)`
      : `read_parquet(${sqlString(glob)})`;
  }

  /**
   * Null counts, and integer minimum and maximum, from the Parquet footers (milliseconds, no
   * data read): only for columns every file has and every row group has statistics for.
   */
  async stats(dataset: string): Promise<Map<string, ColumnStats>> {
    const glob = sqlString(this.files(dataset).glob);
    const rows = await this.query(
      `WITH m AS (SELECT * FROM parquet_metadata(${glob})), files AS (SELECT count(DISTINCT file_name) AS n FROM m)
       SELECT path_in_schema AS col,
         CASE WHEN bool_and(stats_null_count IS NOT NULL) THEN sum(stats_null_count) END AS nulls,
         CASE WHEN bool_and(TRY_CAST(stats_min_value AS BIGINT) IS NOT NULL AND type IN ('INT32', 'INT64'))
           THEN min(TRY_CAST(stats_min_value AS BIGINT)) END AS lo,
         CASE WHEN bool_and(TRY_CAST(stats_max_value AS BIGINT) IS NOT NULL AND type IN ('INT32', 'INT64'))
           THEN max(TRY_CAST(stats_max_value AS BIGINT)) END AS hi
       FROM m GROUP BY path_in_schema HAVING count(DISTINCT file_name) = (SELECT n FROM files)`,
    );
    const n = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
    return new Map(rows.map((r) => [String(r.col), { nulls: n(r.nulls), min: n(r.lo), max: n(r.hi) }]));
  }

  async describe(dataset: string) {
    try {
      const rows = await this.query(`DESCRIBE SELECT * FROM ${this.relation(dataset)}`);
      return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    } catch (e) {
      if (e instanceof KeelError) throw e;
      throw new KeelError(
        "INVALID_PARAMETER_VALUE",
        `cannot read dataset ${dataset}: ${(e as Error).message.split("\n")[0]}`,
      );
    }
  }

  async open(dataset: string): Promise<OpenedDataset> {
    const columns = await this.describe(dataset);
    // Statistics are an optimisation: a dataset whose footers cannot be read that way is still validated.
    const stats = await this.stats(dataset).catch(() => undefined);
    return {
      relation: this.relation(dataset),
      columns,
      ...(stats ? { stats } : {}),
      release: async () => {},
    };
  }

  async query(sql: string): Promise<Row[]> {
    this.instance ??= import("@duckdb/node-api").then(({ DuckDBInstance }) =>
      // Validation reads whole columns into aggregates: row order never matters.
      DuckDBInstance.create(":memory:", {
        preserve_insertion_order: "false",
        ...(this.opts.threads ? { threads: String(this.opts.threads) } : {}),
      }),
    );
    const conn = await (await this.instance).connect();
    try {
      return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Row[];
    } finally {
      conn.closeSync();
    }
  }

  async close(): Promise<void> {
    const i = await this.instance;
    i?.closeSync();
    this.instance = undefined;
  }
}
