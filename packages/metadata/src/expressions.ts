import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { Condition, Path, Update } from "./port";

/**
 * Builds DynamoDB expression strings with placeholder names and values from Keel's
 * structured conditions and updates. One builder per request keeps placeholders unique.
 */
export class ExpressionBuilder {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private nameIds = new Map<string, string>();
  private n = 0;

  path(p: Path): string {
    const parts = Array.isArray(p) ? p : [p];
    return parts
      .map((part) => {
        let id = this.nameIds.get(part);
        if (!id) {
          id = `#n${this.nameIds.size}`;
          this.nameIds.set(part, id);
          this.names[id] = part;
        }
        return id;
      })
      .join(".");
  }

  value(v: unknown): string {
    const id = `:v${this.n++}`;
    this.values[id] = marshallValue(v);
    return id;
  }

  condition(c: Condition): string {
    if ("and" in c) return `(${c.and.map((x) => this.condition(x)).join(" AND ")})`;
    if ("or" in c) return `(${c.or.map((x) => this.condition(x)).join(" OR ")})`;
    if ("not" in c) return `(NOT ${this.condition(c.not)})`;
    if (!("path" in c)) {
      return c.exists ? "attribute_exists(#pk0)" : "attribute_not_exists(#pk0)";
    }
    const p = this.path(c.path);
    if ("exists" in c) return c.exists ? `attribute_exists(${p})` : `attribute_not_exists(${p})`;
    if ("eq" in c) return `${p} = ${this.value(c.eq)}`;
    if ("ne" in c) return `${p} <> ${this.value(c.ne)}`;
    if ("lt" in c) return `${p} < ${this.value(c.lt)}`;
    if ("le" in c) return `${p} <= ${this.value(c.le)}`;
    if ("gt" in c) return `${p} > ${this.value(c.gt)}`;
    return `${p} >= ${this.value(c.ge)}`;
  }

  /** Whole-item exists/not-exists conditions refer to the partition key. */
  withKeyName(): this {
    this.names["#pk0"] = "pk";
    return this;
  }

  update(u: Update): string {
    const sets: string[] = [];
    for (const [p, v] of u.set ?? []) sets.push(`${this.path(p)} = ${this.value(v)}`);
    for (const [p, v] of u.setIfMissing ?? []) {
      const path = this.path(p);
      sets.push(`${path} = if_not_exists(${path}, ${this.value(v)})`);
    }
    for (const [p, v] of u.append ?? []) {
      const path = this.path(p);
      sets.push(`${path} = list_append(if_not_exists(${path}, ${this.value([])}), ${this.value(v)})`);
    }
    const clauses: string[] = [];
    if (sets.length) clauses.push(`SET ${sets.join(", ")}`);
    if (u.remove?.length) clauses.push(`REMOVE ${u.remove.map((p) => this.path(p)).join(", ")}`);
    if (u.add?.length)
      clauses.push(`ADD ${u.add.map(([p, v]) => `${this.path(p)} ${this.value(v)}`).join(", ")}`);
    return clauses.join(" ");
  }

  attrs() {
    return {
      ExpressionAttributeNames: Object.keys(this.names).length ? this.names : undefined,
      ExpressionAttributeValues: Object.keys(this.values).length ? this.values : undefined,
    };
  }
}

export function marshallValue(v: unknown): AttributeValue {
  return marshall({ v }, { removeUndefinedValues: true, convertClassInstanceToMap: true })
    .v as AttributeValue;
}

/** Whether a condition mentions the whole item (needs the #pk0 placeholder). */
export function usesItemExistence(c: Condition): boolean {
  if ("and" in c) return c.and.some(usesItemExistence);
  if ("or" in c) return c.or.some(usesItemExistence);
  if ("not" in c) return usesItemExistence(c.not);
  return !("path" in c);
}
