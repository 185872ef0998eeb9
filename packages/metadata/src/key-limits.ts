import { MetadataError } from "./errors";
import type { Item, Key, QueryInput, Update } from "./port";

/** DynamoDB's limits on key attribute values (UTF-8 bytes), for the table and its indexes alike. */
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;

const PARTITION_ATTRS = new Set(["pk", "gsi1pk", "gsi2pk", "gsi3pk"]);
const SORT_ATTRS = new Set(["sk", "gsi1sk", "gsi2sk", "gsi3sk"]);

/**
 * Refuses a key value DynamoDB would reject, as the caller's mistake (400) naming the value,
 * rather than a ValidationException that surfaces as a 500. Keys embed ids and names from
 * requests (`run#<id>`), so this covers every endpoint that reads or writes by one.
 */
export function checkKeyValue(value: unknown, limit: number): void {
  if (typeof value !== "string") return;
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes <= limit) return;
  const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  throw new MetadataError(
    "INVALID_PARAMETER_VALUE",
    `an id or name in this request is too long: '${shown}' is ${bytes} bytes as a key (at most ${limit})`,
  );
}

/** Checks every key attribute of a key or item (the table's and the indexes'). */
export function checkItemKeys(item: Key | Item): void {
  for (const [name, value] of Object.entries(item)) {
    if (PARTITION_ATTRS.has(name)) checkKeyValue(value, MAX_PARTITION_KEY_BYTES);
    else if (SORT_ATTRS.has(name)) checkKeyValue(value, MAX_SORT_KEY_BYTES);
  }
}

/** Checks the key attributes an update sets. */
export function checkUpdateKeys(update: Update): void {
  for (const [path, value] of [...(update.set ?? []), ...(update.setIfMissing ?? [])]) {
    if (typeof path === "string") checkItemKeys({ pk: "", sk: "", [path]: value });
  }
}

/** Checks a query's partition and sort key values. */
export function checkQueryKeys(q: QueryInput): void {
  checkKeyValue(q.pk, MAX_PARTITION_KEY_BYTES);
  for (const v of [q.prefix, q.after, ...(q.between ?? [])]) checkKeyValue(v, MAX_SORT_KEY_BYTES);
}
