import type { Clause, OrderBy } from "./search-grammar";

/**
 * Evaluates parsed filters and orderings over records in memory. Search reads the latest
 * values kept on each run item, so this never touches metric histories.
 *
 * Semantics follow MLflow's SQL store: a clause on a metric, param or tag the record lacks is
 * false (also for `!=`); LIKE is case-sensitive with `%` and `_` wildcards, ILIKE is not;
 * in orderings, records lacking the key sort last in either direction.
 */
export interface Searchable {
  metric(key: string): number | undefined;
  param(key: string): string | undefined;
  tag(key: string): string | undefined;
  attribute(key: string): string | number | undefined;
  /** Dataset inputs as {name, digest, context} for `datasets.*` clauses. */
  datasets(): Array<Record<string, string | undefined>>;
}

const likeCache = new Map<string, RegExp>();
function likeRegex(pattern: string, insensitive: boolean): RegExp {
  const cacheKey = `${insensitive ? "i" : "s"}:${pattern}`;
  let re = likeCache.get(cacheKey);
  if (!re) {
    let body = "";
    for (const ch of pattern) {
      if (ch === "%") body += ".*";
      else if (ch === "_") body += ".";
      else body += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
    re = new RegExp(`^${body}$`, insensitive ? "is" : "s");
    if (likeCache.size > 1000) likeCache.clear();
    likeCache.set(cacheKey, re);
  }
  return re;
}

function compare(actual: string | number | undefined, c: Clause): boolean {
  if (c.comparator === "IS NULL") return actual === undefined;
  if (c.comparator === "IS NOT NULL") return actual !== undefined;
  if (actual === undefined) return false;
  const v = c.value;
  switch (c.comparator) {
    case "=":
      return actual === v;
    case "!=":
      return actual !== v;
    case "<":
      return (actual as number) < (v as number);
    case "<=":
      return (actual as number) <= (v as number);
    case ">":
      return (actual as number) > (v as number);
    case ">=":
      return (actual as number) >= (v as number);
    case "LIKE":
      return likeRegex(v as string, false).test(String(actual));
    case "ILIKE":
      return likeRegex(v as string, true).test(String(actual));
    case "IN":
      return (v as string[]).includes(String(actual));
    case "NOT IN":
      return !(v as string[]).includes(String(actual));
  }
}

export function matchesClause(r: Searchable, c: Clause): boolean {
  switch (c.entity) {
    case "metric":
      return compare(r.metric(c.key), c);
    case "param":
      return compare(r.param(c.key), c);
    case "tag":
      return compare(r.tag(c.key), c);
    case "attribute":
      return compare(r.attribute(c.key), c);
    case "dataset":
      // A run matches when any one of its dataset inputs does.
      return r.datasets().some((d) => compare(d[c.key], c));
  }
}

export function matchesAll(r: Searchable, clauses: Clause[]): boolean {
  return clauses.every((c) => matchesClause(r, c));
}

function valueFor(r: Searchable, o: OrderBy): string | number | undefined {
  switch (o.entity) {
    case "metric":
      return r.metric(o.key);
    case "param":
      return r.param(o.key);
    case "tag":
      return r.tag(o.key);
    default:
      return r.attribute(o.key);
  }
}

/** NaN sorts after every number (as MLflow stores it: larger than any value). */
function compareValues(a: string | number, b: string | number): number {
  if (typeof a === "number" && typeof b === "number") {
    const an = Number.isNaN(a);
    const bn = Number.isNaN(b);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const as = String(a);
  const bs = String(b);
  return as < bs ? -1 : as > bs ? 1 : 0;
}

/** A comparator for Array.sort: each ordering in turn, missing values last, then `tieBreak`. */
export function orderComparator<T extends Searchable>(
  orderings: OrderBy[],
  tieBreak: (a: T, b: T) => number,
): (a: T, b: T) => number {
  return (a, b) => {
    for (const o of orderings) {
      const av = valueFor(a, o);
      const bv = valueFor(b, o);
      if (av === undefined || bv === undefined) {
        if (av === bv) continue;
        return av === undefined ? 1 : -1;
      }
      // As MLflow orders them: NaN after every number in both directions (missing values after NaN).
      const an = typeof av === "number" && Number.isNaN(av);
      const bn = typeof bv === "number" && Number.isNaN(bv);
      if (an || bn) {
        if (an === bn) continue;
        return an ? 1 : -1;
      }
      const c = compareValues(av, bv);
      if (c !== 0) return o.ascending ? c : -c;
    }
    return tieBreak(a, b);
  };
}
