import { parquetWriteBuffer } from "hyparquet-writer";
import { invalidFeatures } from "../errors";
import { toEpochMs } from "../values";
import type { AppendColumn, Row, SqlColumn } from "./port";

/**
 * Column types for rows held in memory (entity rows posted over HTTP or passed to the
 * service): `event_timestamp` is a TIMESTAMP; other columns take the type of their values.
 */
export function inferColumns(rows: Row[]): AppendColumn[] {
  if (rows.length === 0) throw invalidFeatures("entity rows: at least one row is required");
  const names = Object.keys(rows[0]);
  return names.map((name) => {
    if (name === "event_timestamp") return { name, type: "TIMESTAMP" };
    let type: AppendColumn["type"] | undefined;
    for (const r of rows) {
      const v = r[name];
      if (v === null || v === undefined) continue;
      const t: AppendColumn["type"] =
        typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v))
          ? "INT64"
          : typeof v === "number"
            ? "DOUBLE"
            : typeof v === "boolean"
              ? "BOOLEAN"
              : v instanceof Date
                ? "TIMESTAMP"
                : "STRING";
      type = type === undefined || type === t ? t : type === "INT64" && t === "DOUBLE" ? "DOUBLE" : "STRING";
    }
    return { name, type: type ?? "STRING" };
  });
}

const SQL_TYPE: Record<AppendColumn["type"], string> = {
  INT64: "BIGINT",
  INT32: "INTEGER",
  DOUBLE: "DOUBLE",
  FLOAT: "FLOAT",
  STRING: "VARCHAR",
  BOOLEAN: "BOOLEAN",
  TIMESTAMP: "TIMESTAMP",
};

/** The SQL columns in-memory rows become once written as Parquet. */
export function inferSqlColumns(rows: Row[]): SqlColumn[] {
  return inferColumns(rows).map((c) => ({ name: c.name, type: SQL_TYPE[c.type] }));
}

/** Encodes rows as one Parquet file; every row must have exactly the given columns' types. */
export function rowsToParquet(columns: AppendColumn[], rows: Row[]): ArrayBuffer {
  const columnData = columns.map((c) => ({
    name: c.name,
    type: c.type,
    data: rows.map((r, i) => encode(c, r[c.name], i)),
  }));
  return parquetWriteBuffer({
    columnData: columnData as Parameters<typeof parquetWriteBuffer>[0]["columnData"],
  });
}

function encode(c: AppendColumn, v: unknown, row: number): unknown {
  if (v === null || v === undefined) return null;
  const bad = () => invalidFeatures(`row ${row}: column '${c.name}' is not a valid ${c.type.toLowerCase()}`);
  switch (c.type) {
    case "TIMESTAMP": {
      const ms = toEpochMs(v);
      if (ms === undefined) throw bad();
      return new Date(ms);
    }
    case "INT64":
      if (typeof v === "bigint") return v;
      if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
      throw bad();
    case "INT32":
      if (typeof v === "number" && Number.isInteger(v)) return v;
      throw bad();
    case "DOUBLE":
    case "FLOAT":
      if (typeof v === "number" || typeof v === "bigint") return Number(v);
      throw bad();
    case "BOOLEAN":
      if (typeof v === "boolean") return v;
      throw bad();
    case "STRING":
      return typeof v === "string" ? v : String(v);
  }
}
