/**
 * Metric values as stored and as JSON carries them. DynamoDB numbers and JSON numbers cannot
 * hold NaN or ±Infinity, so those are kept as the strings protobuf JSON uses for them.
 */
export type StoredValue = number | "NaN" | "Infinity" | "-Infinity";

export function encodeValue(n: number): StoredValue {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  // -0 is a number DynamoDB cannot tell from 0; normalise so reads equal writes.
  return n === 0 ? 0 : n;
}

export function decodeValue(v: unknown): number {
  if (typeof v === "number") return v;
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
  return Number.NaN;
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
