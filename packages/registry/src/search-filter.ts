import { registryErrors } from "./errors";

/**
 * The subset of MLflow's registry search grammar the client sends: comparisons joined by
 * AND, e.g. `name LIKE 'fraud%' AND tags.team = 'risk'` or `run_id IN ('a', 'b')`.
 * Keys are plain identifiers, `tags.<key>` (or `tag.<key>`), with backticks for odd keys.
 */
export type Operator = "=" | "!=" | "<" | ">" | "<=" | ">=" | "LIKE" | "ILIKE" | "IN" | "NOT IN";

export interface Clause {
  key: string;
  op: Operator;
  value: string | number | string[];
}

type Token = { kind: "ident" | "string" | "number" | "op" | "punct" | "word"; text: string };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"' || c === "`") {
      const end = input.indexOf(c, i + 1);
      if (end < 0) throw registryErrors.invalid(`invalid filter '${input}': unterminated ${c}`);
      tokens.push({ kind: c === "`" ? "ident" : "string", text: input.slice(i + 1, end) });
      i = end + 1;
    } else if (c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: "punct", text: c });
      i++;
    } else if ("<>=!".includes(c)) {
      const two = input.slice(i, i + 2);
      const op = ["<=", ">=", "!=", "=="].includes(two) ? two : c;
      if (op === "!") throw registryErrors.invalid(`invalid filter '${input}': lone '!'`);
      tokens.push({ kind: "op", text: op === "==" ? "=" : op });
      i += op.length;
    } else {
      const m = /^[A-Za-z0-9_.\-:/%]+/.exec(input.slice(i));
      if (!m) throw registryErrors.invalid(`invalid filter '${input}': unexpected '${c}'`);
      const text = m[0];
      const upper = text.toUpperCase();
      if (/^-?\d+(\.\d+)?$/.test(text)) tokens.push({ kind: "number", text });
      else if (["AND", "LIKE", "ILIKE", "IN", "NOT"].includes(upper))
        tokens.push({ kind: "word", text: upper });
      else tokens.push({ kind: "ident", text });
      i += text.length;
    }
  }
  return tokens;
}

/** Parses a filter, allowing only `keys` (and `tags.*` when `tags` is true). Empty = no clauses. */
export function parseFilter(filter: string | undefined, keys: readonly string[]): Clause[] {
  if (!filter || filter.trim() === "") return [];
  const t = tokenize(filter);
  const bad = (why: string) => registryErrors.invalid(`invalid filter '${filter}': ${why}`);
  const clauses: Clause[] = [];
  let i = 0;
  while (i < t.length) {
    let key = t[i++];
    if (key?.kind !== "ident") throw bad(`expected a key, got '${key?.text ?? "end"}'`);
    // `tags.`odd key`` arrives as two tokens: "tags." then the backticked identifier.
    if ((key.text === "tags." || key.text === "tag.") && t[i]?.kind === "ident") {
      key = { kind: "ident", text: `tags.${t[i++].text}` };
    }
    const name = key.text.startsWith("tag.") ? `tags.${key.text.slice(4)}` : key.text;
    if (!name.startsWith("tags.") && !keys.includes(name)) {
      throw bad(`unknown key '${name}'; use one of ${[...keys, "tags.<key>"].join(", ")}`);
    }
    let opTok = t[i++];
    let op: Operator;
    if (opTok?.kind === "op") op = opTok.text as Operator;
    else if (opTok?.kind === "word" && opTok.text === "NOT" && t[i]?.text === "IN") {
      op = "NOT IN";
      i++;
    } else if (opTok?.kind === "word" && ["LIKE", "ILIKE", "IN"].includes(opTok.text))
      op = opTok.text as Operator;
    else throw bad(`expected a comparison after '${name}'`);
    let value: Clause["value"];
    if (op === "IN" || op === "NOT IN") {
      if (t[i++]?.text !== "(") throw bad(`expected '(' after ${op}`);
      const list: string[] = [];
      for (;;) {
        opTok = t[i++];
        if (opTok?.kind !== "string" && opTok?.kind !== "number")
          throw bad(`expected a value in the ${op} list`);
        list.push(opTok.text);
        const sep = t[i++];
        if (sep?.text === ")") break;
        if (sep?.text !== ",") throw bad(`expected ',' or ')' in the ${op} list`);
      }
      value = list;
    } else {
      const v = t[i++];
      if (v?.kind === "string") value = v.text;
      else if (v?.kind === "number") value = Number(v.text);
      else throw bad(`expected a quoted value or a number after '${name} ${op}'`);
    }
    clauses.push({ key: name, op, value });
    if (i < t.length) {
      if (t[i]?.text !== "AND") throw bad(`expected AND, got '${t[i]?.text}'`);
      i++;
      if (i >= t.length) throw bad("dangling AND");
    }
  }
  return clauses;
}

function like(pattern: string, value: string, insensitive: boolean): boolean {
  const re = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    .replaceAll("%", ".*")
    .replaceAll("_", ".");
  return new RegExp(`^${re}$`, insensitive ? "is" : "s").test(value);
}

/** Whether one value satisfies a clause; an absent value (e.g. a missing tag) never does. */
export function matchClause(c: Clause, actual: string | number | undefined): boolean {
  if (actual === undefined) return false;
  const v = c.value;
  switch (c.op) {
    case "IN":
      return (v as string[]).map(String).includes(String(actual));
    case "NOT IN":
      return !(v as string[]).map(String).includes(String(actual));
    case "LIKE":
      return like(String(v), String(actual), false);
    case "ILIKE":
      return like(String(v), String(actual), true);
  }
  const [a, b] = typeof actual === "number" ? [actual, Number(v)] : [String(actual), String(v)];
  switch (c.op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case ">":
      return a > b;
    case "<=":
      return a <= b;
    default:
      return a >= b;
  }
}

export interface OrderTerm {
  key: string;
  descending: boolean;
}

/** Parses `order_by` entries such as "name ASC" or "last_updated_timestamp DESC". */
export function parseOrderBy(orderBy: string[] | undefined, keys: readonly string[]): OrderTerm[] {
  return (orderBy ?? []).map((entry) => {
    const m = /^\s*`?([\w.]+)`?\s*(ASC|DESC)?\s*$/i.exec(entry);
    if (!m || !keys.includes(m[1])) {
      throw registryErrors.invalid(
        `invalid order_by '${entry}': use one of ${keys.join(", ")} with ASC or DESC`,
      );
    }
    return { key: m[1], descending: m[2]?.toUpperCase() === "DESC" };
  });
}

/** Sorts by the terms, then by the fallback terms, comparing numbers as numbers. */
export function sortBy<T>(rows: T[], terms: OrderTerm[], get: (row: T, key: string) => string | number): T[] {
  return [...rows].sort((x, y) => {
    for (const t of terms) {
      const a = get(x, t.key);
      const b = get(y, t.key);
      if (a === b) continue;
      const cmp = a < b ? -1 : 1;
      return t.descending ? -cmp : cmp;
    }
    return 0;
  });
}

/** Offset-based page tokens: registry listings are small and sorted in memory. */
export function paginate<T>(rows: T[], maxResults: number, pageToken?: string): { page: T[]; next?: string } {
  let offset = 0;
  if (pageToken) {
    try {
      offset = JSON.parse(Buffer.from(pageToken, "base64url").toString("utf8")).offset;
    } catch {
      offset = -1;
    }
    if (!Number.isSafeInteger(offset) || offset < 0) throw registryErrors.invalid("invalid page_token");
  }
  const page = rows.slice(offset, offset + maxResults);
  const end = offset + page.length;
  return {
    page,
    next: end < rows.length ? Buffer.from(JSON.stringify({ offset: end })).toString("base64url") : undefined,
  };
}
