import { invalidParam } from "./errors";

/**
 * MLflow's search grammar (mlflow/utils/search_utils.py): a filter is clauses joined by AND,
 * each `<entity>.<key> <comparator> <value>`; order_by is `<entity>.<key> [ASC|DESC]`.
 * Keys with special characters are quoted with backticks or double quotes; string values with
 * single or double quotes; an identifier without an entity prefix is an attribute.
 * `printFilter(parseFilter(s))` is canonical and parses back to the same clauses.
 */
export type Entity = "metric" | "param" | "tag" | "attribute" | "dataset";
export type Comparator =
  | "="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "LIKE"
  | "ILIKE"
  | "IN"
  | "NOT IN"
  | "IS NULL"
  | "IS NOT NULL";
export type ClauseValue = string | number | string[] | null;

export interface Clause {
  entity: Entity;
  key: string;
  comparator: Comparator;
  value: ClauseValue;
}

export interface OrderBy {
  entity: Entity;
  key: string;
  ascending: boolean;
}

/** What a search target allows: runs and experiments differ in entities and attributes. */
export interface SearchTarget {
  what: "runs" | "experiments";
  entities: readonly Entity[];
  /** Attribute name (and aliases) -> canonical attribute name. */
  attributes: Record<string, string>;
  numericAttributes: ReadonlySet<string>;
  datasetKeys: readonly string[];
}

const ENTITY_ALIASES: Record<string, Entity> = {
  metric: "metric",
  metrics: "metric",
  param: "param",
  params: "param",
  parameter: "param",
  parameters: "param",
  tag: "tag",
  tags: "tag",
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
  run: "attribute",
  dataset: "dataset",
  datasets: "dataset",
};

const NUMERIC_COMPARATORS: readonly Comparator[] = ["=", "!=", "<", "<=", ">", ">="];
const STRING_COMPARATORS: readonly Comparator[] = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];
const NULL_COMPARATORS: readonly Comparator[] = ["IS NULL", "IS NOT NULL"];

type Token =
  | { t: "ident"; entity?: string; key: string; pos: number }
  | { t: "string"; v: string; pos: number }
  | { t: "number"; v: number; pos: number }
  | { t: "op"; v: string; pos: number }
  | { t: "word"; v: string; pos: number }
  | { t: "punct"; v: "(" | ")" | ","; pos: number };

const KEYWORDS = new Set(["AND", "OR", "LIKE", "ILIKE", "IN", "NOT", "IS", "NULL", "ASC", "DESC"]);
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/;
const WORD = /^[A-Za-z_][\w]*/;
const BARE_KEY = /^[\p{L}\p{M}\p{N}_.\-:/]+/u;

function readQuoted(s: string, i: number, what: string): [string, number] {
  const q = s[i];
  let out = "";
  let j = i + 1;
  for (; j < s.length; j++) {
    if (s[j] === q) {
      // A doubled quote inside a quoted string stands for the quote itself (SQL style).
      if (s[j + 1] === q) {
        out += q;
        j++;
        continue;
      }
      return [out, j + 1];
    }
    out += s[j];
  }
  throw invalidParam(`Invalid ${what}: unterminated quoted text starting at position ${i}`);
}

function tokenize(s: string, what: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (c === "(" || c === ")" || c === ",") {
      tokens.push({ t: "punct", v: c, pos });
      i++;
    } else if (c === "'" || c === '"') {
      const [v, next] = readQuoted(s, i, what);
      tokens.push({ t: "string", v, pos });
      i = next;
    } else if (c === "`") {
      const [v, next] = readQuoted(s, i, what);
      tokens.push({ t: "ident", key: v, pos });
      i = next;
    } else if ("<>=!".includes(c)) {
      const two = s.slice(i, i + 2);
      const op = ["<=", ">=", "!=", "<>", "=="].includes(two) ? two : c;
      if (op === "!") throw invalidParam(`Invalid ${what}: unexpected '!' at position ${i}`);
      tokens.push({ t: "op", v: op === "<>" ? "!=" : op === "==" ? "=" : op, pos });
      i += op.length;
    } else if (NUMBER.test(s.slice(i)) && (c !== "-" || !WORD.test(s.slice(i + 1)))) {
      const m = NUMBER.exec(s.slice(i))!;
      tokens.push({ t: "number", v: Number(m[0]), pos });
      i += m[0].length;
    } else if (WORD.test(s.slice(i))) {
      const word = WORD.exec(s.slice(i))![0];
      i += word.length;
      if (s[i] === "." && ENTITY_ALIASES[word.toLowerCase()] !== undefined) {
        i++;
        if (s[i] === "`" || s[i] === '"') {
          const [key, next] = readQuoted(s, i, what);
          tokens.push({ t: "ident", entity: word, key, pos });
          i = next;
        } else {
          const m = BARE_KEY.exec(s.slice(i));
          if (!m) throw invalidParam(`Invalid ${what}: missing key after '${word}.' at position ${pos}`);
          tokens.push({ t: "ident", entity: word, key: m[0], pos });
          i += m[0].length;
        }
      } else if (s[i] === ".") {
        throw invalidParam(`Invalid ${what}: invalid entity type '${word}' at position ${pos}`);
      } else if (KEYWORDS.has(word.toUpperCase())) {
        tokens.push({ t: "word", v: word.toUpperCase(), pos });
      } else {
        tokens.push({ t: "ident", key: word, pos });
      }
    } else {
      throw invalidParam(`Invalid ${what}: unexpected character '${c}' at position ${i}`);
    }
  }
  return tokens;
}

function resolveIdentifier(tok: Token, target: SearchTarget, what: string): { entity: Entity; key: string } {
  if (tok.t !== "ident") throw invalidParam(`Invalid ${what}: expected an identifier at position ${tok.pos}`);
  const entity = tok.entity === undefined ? "attribute" : ENTITY_ALIASES[tok.entity.toLowerCase()];
  if (!entity || !target.entities.includes(entity)) {
    throw invalidParam(
      `Invalid ${what}: invalid entity type '${tok.entity}'. Valid values are ${target.entities.join(", ")}`,
    );
  }
  if (tok.key === "") throw invalidParam(`Invalid ${what}: empty key at position ${tok.pos}`);
  if (entity === "attribute") {
    const canonical = target.attributes[tok.key];
    if (!canonical) {
      throw invalidParam(
        `Invalid ${what}: invalid attribute key '${tok.key}' specified. Valid keys are ` +
          `${[...new Set(Object.values(target.attributes))].join(", ")}`,
      );
    }
    return { entity, key: canonical };
  }
  if (entity === "dataset" && !target.datasetKeys.includes(tok.key)) {
    throw invalidParam(
      `Invalid ${what}: invalid dataset key '${tok.key}'. Valid keys are ${target.datasetKeys.join(", ")}`,
    );
  }
  return { entity, key: tok.key };
}

function isNumeric(entity: Entity, key: string, target: SearchTarget): boolean {
  return entity === "metric" || (entity === "attribute" && target.numericAttributes.has(key));
}

/** Parses a filter string into clauses (all joined by AND); "" or undefined is no filter. */
export function parseFilter(filter: string | undefined, target: SearchTarget): Clause[] {
  const what = "filter";
  if (filter === undefined || filter.trim() === "") return [];
  const toks = tokenize(filter, what);
  const clauses: Clause[] = [];
  let i = 0;
  const peek = () => toks[i];
  const need = (desc: string) => {
    const t = toks[i++];
    if (!t) throw invalidParam(`Invalid filter '${filter}': expected ${desc} at the end`);
    return t;
  };
  for (;;) {
    const { entity, key } = resolveIdentifier(need("an identifier"), target, `filter '${filter}'`);
    const opTok = need("a comparator");
    let comparator: Comparator;
    if (opTok.t === "op") comparator = opTok.v as Comparator;
    else if (opTok.t === "word" && (opTok.v === "LIKE" || opTok.v === "ILIKE" || opTok.v === "IN"))
      comparator = opTok.v;
    else if (opTok.t === "word" && opTok.v === "NOT") {
      const nxt = need("IN after NOT");
      if (nxt.t !== "word" || nxt.v !== "IN")
        throw invalidParam(`Invalid filter '${filter}': expected IN after NOT`);
      comparator = "NOT IN";
    } else if (opTok.t === "word" && opTok.v === "IS") {
      let nxt = need("NULL");
      let negate = false;
      if (nxt.t === "word" && nxt.v === "NOT") {
        negate = true;
        nxt = need("NULL");
      }
      if (nxt.t !== "word" || nxt.v !== "NULL")
        throw invalidParam(`Invalid filter '${filter}': expected NULL after IS`);
      comparator = negate ? "IS NOT NULL" : "IS NULL";
    } else {
      throw invalidParam(`Invalid filter '${filter}': expected a comparator at position ${opTok.pos}`);
    }
    const numeric = isNumeric(entity, key, target);
    const allowed = [...(numeric ? NUMERIC_COMPARATORS : STRING_COMPARATORS), ...NULL_COMPARATORS];
    if (!allowed.includes(comparator)) {
      throw invalidParam(
        `Invalid comparator '${comparator}' for ${entity} '${key}' in filter '${filter}'. ` +
          `Valid comparators are ${allowed.join(", ")}`,
      );
    }
    let value: ClauseValue = null;
    if (comparator === "IN" || comparator === "NOT IN") {
      const open = need("(");
      if (open.t !== "punct" || open.v !== "(")
        throw invalidParam(`Invalid filter '${filter}': expected '(' after IN`);
      const list: string[] = [];
      for (;;) {
        const v = need("a quoted string");
        if (v.t !== "string")
          throw invalidParam(`Invalid filter '${filter}': IN values must be quoted strings`);
        list.push(v.v);
        const sep = need("',' or ')'");
        if (sep.t === "punct" && sep.v === ")") break;
        if (sep.t !== "punct" || sep.v !== ",")
          throw invalidParam(`Invalid filter '${filter}': expected ',' or ')'`);
      }
      value = list;
    } else if (comparator !== "IS NULL" && comparator !== "IS NOT NULL") {
      const v = need("a value");
      if (numeric) {
        if (v.t !== "number") {
          throw invalidParam(`Invalid filter '${filter}': expected a numeric value for ${entity} '${key}'`);
        }
        value = v.v;
      } else {
        if (v.t !== "string") {
          throw invalidParam(
            `Invalid filter '${filter}': expected a quoted string value for ${entity} '${key}'`,
          );
        }
        value = v.v;
      }
    }
    clauses.push({ entity, key, comparator, value });
    const next = peek();
    if (!next) return clauses;
    i++;
    if (next.t === "word" && next.v === "OR") {
      throw invalidParam(`Invalid filter '${filter}': OR is not supported, only AND`);
    }
    if (next.t !== "word" || next.v !== "AND") {
      throw invalidParam(`Invalid filter '${filter}': expected AND at position ${next.pos}`);
    }
  }
}

/** Parses order_by entries ("metrics.acc DESC", "start_time"). */
export function parseOrderBy(orderBy: string[] | undefined, target: SearchTarget): OrderBy[] {
  return (orderBy ?? []).map((entry) => {
    const what = `order_by clause '${entry}'`;
    const toks = tokenize(entry, what);
    if (toks.length === 0) throw invalidParam(`Invalid ${what}: empty`);
    const { entity, key } = resolveIdentifier(toks[0], target, what);
    if (entity === "dataset") throw invalidParam(`Invalid ${what}: datasets cannot be ordered by`);
    let ascending = true;
    if (toks.length > 2) throw invalidParam(`Invalid ${what}: expected '<key> [ASC|DESC]'`);
    if (toks.length === 2) {
      const dir = toks[1];
      if (dir.t !== "word" || (dir.v !== "ASC" && dir.v !== "DESC")) {
        throw invalidParam(`Invalid ${what}: the direction must be ASC or DESC`);
      }
      ascending = dir.v === "ASC";
    }
    return { entity, key, ascending };
  });
}

const ENTITY_PREFIX: Record<Entity, string> = {
  metric: "metrics",
  param: "params",
  tag: "tags",
  attribute: "attributes",
  dataset: "datasets",
};

const quoteString = (s: string) => `'${s.replaceAll("'", "''")}'`;

function printValue(v: ClauseValue): string {
  if (v === null) return "";
  if (Array.isArray(v)) return ` (${v.map(quoteString).join(", ")})`;
  if (typeof v === "number") return ` ${String(v)}`;
  return ` ${quoteString(v)}`;
}

/** Canonical text of a filter; parses back to the same clauses. */
export function printFilter(clauses: Clause[]): string {
  return clauses
    .map((c) => `${ENTITY_PREFIX[c.entity]}.\`${c.key}\` ${c.comparator}${printValue(c.value)}`)
    .join(" AND ");
}
