import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DuckDBInstance } from "@duckdb/node-api";
import { KeelError } from "@keel/core";

export type Row = Record<string, unknown>;

/**
 * ValidationEngine: runs the suite's SQL over a Parquet dataset. DuckDB runs it over local
 * files (s3:// URIs mapped under a local root, as the offline store does); an Athena adapter
 * can implement the same port over the files in S3 (the SQL is plain aggregates).
 */
export interface ValidationEngine {
  /** The SQL relation that reads the dataset (a file or a folder of Parquet files). */
  relation(dataset: string): string;
  /** Column names and SQL types; INVALID_PARAMETER_VALUE naming the dataset when unreadable. */
  describe(dataset: string): Promise<Array<{ name: string; type: string }>>;
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
