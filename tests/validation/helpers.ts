import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
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

/**
 * Feature history for a view `user_stats` with `features` float features f0..: `rowsPerEntity`
 * hourly rows per entity u0..u<entities-1>, the newest an hour before `nowMs`, written as one
 * Parquet file under `dir`; returns the feature repo that declares it.
 */
export async function writeFeatureHistory(
  dir: string,
  opts: { entities: number; features: number; rowsPerEntity?: number; nowMs: number },
) {
  const rows = opts.rowsPerEntity ?? 2;
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: opts.features }, (_, f) => `f${f}`);
  const cols = names
    .map((n, f) => `((hash(e * 131 + r * 7 + ${f}) % 100000) / 1000.0)::DOUBLE AS ${n}`)
    .join(", ");
  const engine = new DuckDbValidationEngine();
  await engine.query(
    `COPY (SELECT 'u' || e AS user_id,
       make_timestamp(${opts.nowMs * 1000}::BIGINT - (r + 1) * 3600000000) AS event_timestamp, ${cols}
     FROM range(${opts.entities}) a(e), range(${rows}) b(r)) TO '${join(dir, "part-0.parquet")}' (FORMAT PARQUET)`,
  );
  await engine.close();
  const { entity, featureView, fileSource, repoFromDefinitions } = await import("@keel/features");
  return repoFromDefinitions([
    entity({ name: "user", joinKey: "user_id", valueType: "string" }),
    fileSource({ name: "user_stats_source", path: `${dir}/`, timestampField: "event_timestamp" }),
    featureView({
      name: "user_stats",
      entities: ["user"],
      schema: names.map((name) => ({ name, dtype: "float64" as const })),
      ttlSeconds: 7 * 86_400,
      source: "user_stats_source",
    }),
  ]);
}
