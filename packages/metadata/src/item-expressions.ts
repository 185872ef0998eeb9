import { MetadataError } from "./errors";
import type { Condition, Item, Path, Update } from "./port";

/**
 * Keel's structured conditions and updates evaluated on plain items, with DynamoDB's semantics
 * (what the SQLite adapter runs inside its transactions): comparisons need equal types, `ne`
 * holds for a missing attribute, nested `set` needs its parent map, `add` and `append` start
 * from 0 and [] when the attribute is missing.
 */
const parts = (p: Path): string[] => (Array.isArray(p) ? p : [p]);

export function readPath(item: Record<string, unknown> | undefined, p: Path): unknown {
  let cur: unknown = item;
  for (const part of parts(p)) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function parentOf(item: Record<string, unknown>, p: Path): [Record<string, unknown>, string] {
  const ps = parts(p);
  let cur: unknown = item;
  for (const part of ps.slice(0, -1)) {
    cur = (cur as Record<string, unknown>)[part];
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) {
      throw new MetadataError(
        "INTERNAL_ERROR",
        `The document path provided in the update expression is invalid for update: ${ps.join(".")}`,
      );
    }
  }
  return [cur as Record<string, unknown>, ps[ps.length - 1]];
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function ordered(a: unknown, b: unknown, test: (x: number) => boolean): boolean {
  if (typeof a !== typeof b || (typeof a !== "number" && typeof a !== "string")) return false;
  return test(a === b ? 0 : (a as number | string) < (b as number | string) ? -1 : 1);
}

export function holds(c: Condition, item: Item | undefined): boolean {
  if ("and" in c) return c.and.every((x) => holds(x, item));
  if ("or" in c) return c.or.some((x) => holds(x, item));
  if ("not" in c) return !holds(c.not, item);
  if (!("path" in c)) return c.exists === (item !== undefined);
  const v = readPath(item, c.path);
  if ("exists" in c) return c.exists === (v !== undefined);
  if ("eq" in c) return v !== undefined && deepEqual(v, c.eq);
  if ("ne" in c) return v === undefined || !deepEqual(v, c.ne);
  if ("lt" in c) return ordered(v, c.lt, (x) => x < 0);
  if ("le" in c) return ordered(v, c.le, (x) => x <= 0);
  if ("gt" in c) return ordered(v, c.gt, (x) => x > 0);
  return ordered(v, c.ge, (x) => x >= 0);
}

const copy = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

/** Applies an update to a copy of `item` (or a new item with just the key) and returns it. */
export function applyUpdate(item: Item, u: Update): Item {
  const before = item;
  const out = structuredClone(item);
  // As in DynamoDB, every right-hand side reads the item as it was before the update.
  for (const [p, v] of u.set ?? []) assign(out, p, copy(v));
  for (const [p, v] of u.setIfMissing ?? []) {
    const cur = readPath(before, p);
    assign(out, p, cur === undefined ? copy(v) : copy(cur));
  }
  for (const [p, v] of u.append ?? []) {
    const cur = readPath(before, p);
    if (cur !== undefined && !Array.isArray(cur)) throw typeMismatch(p, "list_append");
    assign(out, p, [...((cur as unknown[]) ?? []), ...copy(v)]);
  }
  for (const p of u.remove ?? []) {
    const [parent, last] = parentOfOrNone(out, p);
    if (parent) delete parent[last];
  }
  for (const [p, by] of u.add ?? []) {
    const cur = readPath(before, p);
    if (cur !== undefined && typeof cur !== "number") throw typeMismatch(p, "ADD");
    assign(out, p, ((cur as number) ?? 0) + by);
  }
  return out;
}

function assign(item: Item, p: Path, v: unknown): void {
  const [parent, last] = parentOf(item, p);
  if (v === undefined) delete parent[last];
  else parent[last] = v;
}

function parentOfOrNone(item: Item, p: Path): [Record<string, unknown> | undefined, string] {
  const ps = parts(p);
  const parent = ps.length === 1 ? item : readPath(item, ps.slice(0, -1));
  const ok = parent !== null && typeof parent === "object" && !Array.isArray(parent);
  return [ok ? (parent as Record<string, unknown>) : undefined, ps[ps.length - 1]];
}

function typeMismatch(p: Path, op: string) {
  return new MetadataError("INTERNAL_ERROR", `${op} on ${parts(p).join(".")}: operand type mismatch`);
}
