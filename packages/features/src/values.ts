import type { Entity, ValueType } from "./definitions";
import { invalidFeatures } from "./errors";

export type JoinKeyType = Entity["valueType"];
export type FeatureValue = number | string | boolean | null;

/**
 * Checks one join-key value against its declared type and returns it in canonical form
 * (int64 keys as integral numbers or bigints, string keys as strings). Wrong types are
 * errors naming the key: a string "42" is not an int64 key, because the offline join would
 * not match it either.
 */
export function checkJoinKey(name: string, type: JoinKeyType, value: unknown): string | number | bigint {
  if (type === "int64") {
    if (typeof value === "bigint") return value;
    if (typeof value === "number" && Number.isSafeInteger(value)) return value;
    throw invalidFeatures(`join key '${name}' must be an int64, got ${describe(value)}`);
  }
  if (typeof value === "string") return value;
  throw invalidFeatures(`join key '${name}' must be a string, got ${describe(value)}`);
}

/** Stable text form of a composite entity key; JSON of strings, so "1|2" and ["1","2"] never collide. */
export function encodeEntityKey(values: Array<string | number | bigint>): string {
  return JSON.stringify(values.map((v) => String(v)));
}

/**
 * Converts a value read from Parquet/DuckDB or received over HTTP into the JSON-safe form the
 * online store keeps for its dtype; null stays null. Throws naming the feature on a mismatch.
 */
export function toFeatureValue(feature: string, dtype: ValueType, value: unknown): FeatureValue {
  if (value === null || value === undefined) return null;
  switch (dtype) {
    case "int64":
    case "int32":
      if (typeof value === "bigint") return Number(value);
      if (typeof value === "number" && Number.isInteger(value)) return value;
      break;
    case "float64":
    case "float32":
      if (typeof value === "number") return value;
      if (typeof value === "bigint") return Number(value);
      break;
    case "string":
      if (typeof value === "string") return value;
      break;
    case "bool":
      if (typeof value === "boolean") return value;
      break;
    case "timestamp": {
      const ms = toEpochMs(value);
      if (ms !== undefined) return new Date(ms).toISOString();
      break;
    }
  }
  throw invalidFeatures(`feature '${feature}' must be ${dtype}, got ${describe(value)}`);
}

/** Milliseconds since the epoch from a Date, an ISO-8601 string or a number of ms; else undefined. */
export function toEpochMs(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value.replace(" ", "T")}Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** SQL type names (DuckDB / Trino spelling) each declared type accepts from a source column. */
const COMPATIBLE: Record<ValueType, RegExp> = {
  int64: /^(BIGINT|INTEGER|INT|SMALLINT|TINYINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|HUGEINT)$/i,
  int32: /^(INTEGER|INT|SMALLINT|TINYINT|USMALLINT|UTINYINT)$/i,
  float64: /^(DOUBLE|FLOAT|REAL|DECIMAL.*|BIGINT|INTEGER|INT|SMALLINT|TINYINT)$/i,
  float32: /^(FLOAT|REAL|DOUBLE|DECIMAL.*)$/i,
  string: /^(VARCHAR.*|STRING|CHAR.*)$/i,
  bool: /^(BOOLEAN|BOOL)$/i,
  timestamp: /^(TIMESTAMP.*|DATE)$/i,
};

export function sqlTypeAccepts(dtype: ValueType, sqlType: string): boolean {
  return COMPATIBLE[dtype].test(sqlType.trim());
}

export function isTimestampSqlType(sqlType: string): boolean {
  return COMPATIBLE.timestamp.test(sqlType.trim());
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "object") return Array.isArray(v) ? "an array" : "an object";
  return `${typeof v} ${String(v)}`;
}
