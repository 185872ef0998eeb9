import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

/** The four user features the fraud model uses, as they stand right after each transaction. */
export const USER_FEATURES = [
  "avg_amount_7d",
  "txn_count_24h",
  "unique_merchants_30d",
  "max_amount_7d",
] as const;

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * Computes the user_transaction_stats feature source from raw transactions: one row per
 * transaction with trailing-window aggregates over that user's history up to and including it.
 * `created_timestamp` is when the row was computed, for the store's tie-breaking.
 * Several files are read as one history; with `since`, only rows from then on are written
 * (a new batch of traffic whose windows still see the history before it).
 */
export async function computeUserFeatures(
  transactionsParquet: string | string[],
  outParquet: string,
  opts: { since?: Date } = {},
): Promise<number> {
  const files = (Array.isArray(transactionsParquet) ? transactionsParquet : [transactionsParquet]).map(
    sqlString,
  );
  // QUALIFY filters after the window functions, so the kept rows' windows still see earlier history.
  const since = opts.since ? `QUALIFY event_timestamp >= epoch_ms(${opts.since.getTime()})::TIMESTAMP` : "";
  mkdirSync(dirname(outParquet), { recursive: true });
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    const win = (range: string) =>
      `(PARTITION BY user_id ORDER BY event_timestamp RANGE BETWEEN INTERVAL ${range} PRECEDING AND CURRENT ROW)`;
    await c.run(`
      COPY (
        SELECT user_id,
               event_timestamp,
               now()::TIMESTAMP AS created_timestamp,
               avg(amount) OVER w7 AS avg_amount_7d,
               (count(*) OVER w24)::DOUBLE AS txn_count_24h,
               (count(DISTINCT merchant_id) OVER w30)::DOUBLE AS unique_merchants_30d,
               max(amount) OVER w7 AS max_amount_7d
        FROM read_parquet([${files.join(", ")}])
        WINDOW w7 AS ${win("7 DAYS")}, w24 AS ${win("24 HOURS")}, w30 AS ${win("30 DAYS")}
        ${since}
        ORDER BY event_timestamp
      ) TO ${sqlString(outParquet)} (FORMAT PARQUET)`);
    const r = await c.runAndReadAll(
      `SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(outParquet)})`,
    );
    return Number(r.getRowObjects()[0].n);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
