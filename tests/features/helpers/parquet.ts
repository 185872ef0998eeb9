import { existsSync, writeFileSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { type AppendColumn, type Row, rowsToParquet } from "@keel/features";

/** Writes rows as one Parquet file (the same writer pushes use). */
export function rowsToParquetFile(file: string, columns: AppendColumn[], rows: Row[]): void {
  writeFileSync(file, Buffer.from(rowsToParquet(columns, rows)));
}

/** Reads Parquet (a file, or a glob such as dir/*.parquet) with DuckDB; undefined when there is no file. */
export async function readParquetRows(pathOrGlob: string): Promise<Row[] | undefined> {
  if (!pathOrGlob.includes("*") && !existsSync(pathOrGlob)) return undefined;
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  try {
    const r = await conn.runAndReadAll(`SELECT * FROM read_parquet('${pathOrGlob.replaceAll("'", "''")}')`);
    return r
      .getRowObjectsJS()
      .map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])),
      );
  } catch (e) {
    if (/No files found/i.test((e as Error).message)) return undefined;
    throw e;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
