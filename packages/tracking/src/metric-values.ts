/**
 * Metric values as stored and as JSON carries them. DynamoDB numbers cannot hold NaN or
 * ±Infinity, nor (through the SDK's marshalling) magnitudes beyond Number.MAX_SAFE_INTEGER or
 * below DynamoDB's 1e-130, all of which MLflow accepts; those are kept as strings: the
 * protobuf JSON spellings for the non-finite ones, JavaScript's shortest round-trip decimal
 * for the rest.
 */
export type StoredValue = number | string;

const MIN_DYNAMODB_MAGNITUDE = 1e-130;

export function encodeValue(n: number): StoredValue {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  // -0 is a number DynamoDB cannot tell from 0; normalise so reads equal writes.
  if (n === 0) return 0;
  const abs = Math.abs(n);
  if (abs > Number.MAX_SAFE_INTEGER || abs < MIN_DYNAMODB_MAGNITUDE) return String(n);
  return n;
}

export function decodeValue(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return Number(v);
  return Number.NaN;
}

/** A value as MLflow's JSON carries it: a number, or the protobuf JSON spelling of NaN/±Infinity. */
export type JsonMetricValue = number | "NaN" | "Infinity" | "-Infinity";

export function jsonValue(v: StoredValue): JsonMetricValue {
  const n = decodeValue(v);
  if (Number.isFinite(n)) return n;
  return Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
}

/** A point of a metric's history: [step, timestamp, value]. Compact, since chunks hold thousands. */
export type HistoryPoint = [number, number, StoredValue];

/** Orders points by step, then timestamp, then value (NaN last), the order get-history returns. */
export function comparePoints(a: HistoryPoint, b: HistoryPoint): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] - b[1];
  const av = decodeValue(a[2]);
  const bv = decodeValue(b[2]);
  if (Number.isNaN(av) || Number.isNaN(bv)) return Number(Number.isNaN(av)) - Number(Number.isNaN(bv));
  return av < bv ? -1 : av > bv ? 1 : 0;
}
