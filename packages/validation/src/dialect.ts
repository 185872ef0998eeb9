/**
 * The few places where the SQL an expectation suite compiles to differs between the engines:
 * DuckDB locally, Athena (Trino) in AWS. Everything else (aggregates with FILTER, IN lists,
 * CAST, double-quoted identifiers) is spelled the same by both.
 */
export interface SqlDialect {
  readonly name: "duckdb" | "athena";
  /** A multi-column key as one comparable value (for count(DISTINCT ...)). */
  tuple(columns: string[]): string;
  /** Milliseconds since the epoch of a TIMESTAMP expression, as a number. */
  epochMs(timestampExpr: string): string;
  /**
   * A query returning about `rows` sampled rows of `select` over `relation`; `total` is the
   * relation's row count (known from the aggregate scan), `seed` makes it repeatable where the
   * engine can.
   */
  sample(select: string, relation: string, rows: number, seed: number, total: number): string;
  /**
   * Exact count of distinct non-null values of an integer column known to lie in [min, max],
   * cheaper than count(DISTINCT) (no hash table); absent where the engine has no such form.
   */
  distinctIntegers?(column: string, min: number, max: number): string;
}

export const duckDbDialect: SqlDialect = {
  name: "duckdb",
  tuple: (columns) => (columns.length === 1 ? columns[0] : `(${columns.join(", ")})`),
  epochMs: (ts) => `epoch_ms(${ts})`,
  sample: (select, relation, rows, seed) =>
    `SELECT ${select} FROM ${relation} USING SAMPLE reservoir(${rows} ROWS) REPEATABLE (${seed})`,
  // One bit per possible value, set per row, counted once: a pass with no hashing.
  distinctIntegers: (column, min, max) => `coalesce(bit_count(bitstring_agg(${column}, ${min}, ${max})), 0)`,
};

/**
 * Athena engine v3 (Trino). Its TABLESAMPLE takes a percentage and has no seed: the sample is
 * a Bernoulli draw sized from the row count (with headroom), cut to `rows`; so distribution
 * statistics in AWS vary slightly between runs, within the sampling error PSI/KS allow for.
 */
export const athenaDialect: SqlDialect = {
  name: "athena",
  tuple: (columns) => (columns.length === 1 ? columns[0] : `ROW(${columns.join(", ")})`),
  epochMs: (ts) => `to_unixtime(${ts}) * 1000`,
  sample: (select, relation, rows, _seed, total) => {
    const pct = total > 0 ? Math.min(100, (rows * 1.5 * 100) / total) : 100;
    return `SELECT ${select} FROM ${relation} TABLESAMPLE BERNOULLI (${Number(pct.toPrecision(6))}) LIMIT ${rows}`;
  },
};
