import type { FileSource } from "../definitions";
import type { LatestSpec, PitSpec } from "./pit-sql";

/** A column as the offline engine sees it: name and SQL type (DuckDB / Trino spelling). */
export interface SqlColumn {
  name: string;
  type: string;
}

/** Entity rows for a point-in-time join: a Parquet file (path or s3:// URI) or rows in memory. */
export type EntitySource = { path: string } | { rows: Array<Record<string, unknown>> };

/** Where a join's result goes: returned as rows, or written as a Parquet file. */
export type JoinOutput = { kind: "rows" } | { kind: "parquet"; path: string };

export type Row = Record<string, unknown>;

/** A column of rows to append to a source, with the Parquet type it is written as. */
export interface AppendColumn {
  name: string;
  type: "INT64" | "INT32" | "DOUBLE" | "FLOAT" | "STRING" | "BOOLEAN" | "TIMESTAMP";
}

/**
 * OfflineStore: the historical store of feature rows, Parquet files queried with the
 * portable SQL of `pit-sql.ts`. DuckDB runs it over local files (s3:// URIs mapped under a
 * local root); Athena runs the same SQL over the files in S3.
 */
export interface OfflineStore {
  /**
   * Columns of a source's Parquet data. Throws INVALID_PARAMETER_VALUE naming the source when
   * its files are missing or unreadable.
   */
  describeSource(source: FileSource): Promise<SqlColumn[]>;
  /**
   * Makes a source queryable with the given columns, idempotently: Athena creates or updates
   * the source's Glue table; DuckDB reads Parquet directly and does nothing.
   */
  registerSource(source: FileSource, columns: SqlColumn[]): Promise<void>;
  /** Columns of an entity dataset (same errors, naming the entity file). */
  describeEntities(entities: EntitySource): Promise<SqlColumn[]>;
  /**
   * Runs a point-in-time join whose view relations are the given sources (same order as
   * `spec.views`). Entity rows come back once each, in input order. With a Parquet output the
   * file is written whole or not at all, and the row count is returned.
   */
  pointInTimeJoin(
    entities: EntitySource,
    sources: FileSource[],
    spec: Omit<PitSpec, "entities" | "views"> & { views: Array<Omit<PitSpec["views"][number], "relation">> },
    output: JoinOutput,
  ): Promise<{ rows?: Row[]; rowCount: number }>;
  /**
   * Streams the latest row per entity key in a time window (see `buildLatestSql`) in chunks
   * of at most `chunkSize` rows. keel_ts/keel_created arrive as epoch milliseconds.
   */
  latestRows(source: FileSource, spec: Omit<LatestSpec, "relation">, chunkSize: number): AsyncIterable<Row[]>;
  /**
   * Appends rows to a prefix source as one new Parquet file, written under a temporary name
   * first so readers never see a partial file. Returns the file's path or URI.
   */
  append(source: FileSource, columns: AppendColumn[], rows: Row[]): Promise<string>;
  /** Releases engines and connections. */
  close(): Promise<void>;
}

/** Regroups pages of any size into chunks of exactly `size` rows (the last one may be shorter). */
export async function* rechunk(pages: AsyncIterable<Row[]>, size: number): AsyncIterable<Row[]> {
  let buf: Row[] = [];
  for await (const page of pages) {
    buf.push(...page);
    while (buf.length >= size) {
      yield buf.slice(0, size);
      buf = buf.slice(size);
    }
  }
  if (buf.length) yield buf;
}
