import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DuckDbValidationEngine } from "@keel/validation";

/**
 * Writes a Parquet file of `rows` transactions with DuckDB: txn_id (unique), user_id, amount
 * (0..1000), country (US/GB/FR), event_timestamp (the last `rows` minutes before `nowMs`).
 * `broken` damages one column the way a bad upstream job would.
 */
export async function writeTransactions(
  path: string,
  rows: number,
  opts: { nowMs?: number; broken?: "amount_negative" | "amount_string" | "user_nulls"; shift?: number } = {},
): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const now = opts.nowMs ?? Date.now();
  const amount =
    opts.broken === "amount_negative"
      ? "CASE WHEN i % 10 = 0 THEN -5.0 ELSE (hash(i) % 100000) / 100.0 END"
      : opts.broken === "amount_string"
        ? "CAST((hash(i) % 100000) / 100.0 AS VARCHAR)"
        : `(hash(i) % 100000) / 100.0 + ${opts.shift ?? 0}`;
  const user =
    opts.broken === "user_nulls"
      ? "CASE WHEN i % 4 = 0 THEN NULL ELSE 'u' || (i % 97) END"
      : "'u' || (i % 97)";
  const engine = new DuckDbValidationEngine();
  await engine.query(
    `COPY (SELECT i AS txn_id, ${user} AS user_id, ${amount} AS amount,
       ['US','GB','FR'][1 + (i % 3)::INT] AS country,
       make_timestamp(${now * 1000}::BIGINT - (${rows} - i) * 60000000) AS event_timestamp
     FROM range(${rows}) t(i)) TO '${path}' (FORMAT PARQUET)`,
  );
  await engine.close();
}
