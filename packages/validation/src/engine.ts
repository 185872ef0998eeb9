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

/** A dataset made queryable: the SQL relation reading it, its columns, and what undoes the opening. */
export interface OpenedDataset {
  relation: string;
  columns: Column[];
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

  relation(dataset: string): string {
    const local = this.localPath(dataset);
    const dir = local.endsWith("/") || (existsSync(local) && statSync(local).isDirectory());
    return dir
      ? `read_parquet(${sqlString(join(local, "**/*.parquet"))}, union_by_name = true)`
      : `read_parquet(${sqlString(local)})`;
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
    return {
      relation: this.relation(dataset),
      columns: await this.describe(dataset),
      release: async () => {},
    };
  }

  async query(sql: string): Promise<Row[]> {
    this.instance ??= import("@duckdb/node-api").then(({ DuckDBInstance }) =>
      DuckDBInstance.create(
        ":memory:",
        this.opts.threads ? { threads: String(this.opts.threads) } : undefined,
      ),
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
