import type { BaselineProfile } from "@keel/model-format";
import { ksTwoSample, psi } from "@keel/monitoring";
import type { OpenedDataset, ValidationEngine } from "./engine";
import { type ColumnType, type Expectation, type ExpectationSuite, expectationName } from "./expectations";

export type Observed = Record<string, number | string | null>;

export interface ExpectationResult {
  name: string;
  kind: Expectation["kind"];
  severity: "error" | "warn";
  passed: boolean;
  observed: Observed;
  /** One sentence: what was expected and what was found. */
  message: string;
}

export interface ValidationReport {
  suite: string;
  dataset: string;
  rows: number;
  evaluatedAt: number;
  durationMs: number;
  /** No expectation of severity error failed. */
  passed: boolean;
  errors: number;
  warnings: number;
  /** Passes over the data: one aggregate scan, plus one sample scan when distributions are checked. */
  scans: number;
  reference?: string;
  results: ExpectationResult[];
}

export interface EvaluateOptions {
  /** Evaluation time (freshness), ms since the epoch. */
  now?: number;
  /** The reference profile distribution checks compare to, and what it is (for the report). */
  reference?: { profile: BaselineProfile; label: string };
  /** Rows sampled for distribution checks. */
  sampleRows?: number;
  seed?: number;
}

const q = (c: string) => `"${c}"`;
/** The widest integer range uniqueness is counted with a bitmap for (32 MiB of bits per thread). */
const MAX_BITMAP_VALUES = 2 ** 28;

/** The suite's type family of a SQL type as DuckDB (or Trino) spells it. */
export function typeFamily(sqlType: string): Exclude<ColumnType, "number"> | "other" {
  const t = sqlType.toUpperCase();
  if (/^(VARCHAR|TEXT|STRING|CHAR|UUID)/.test(t)) return "string";
  if (/^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)\b/.test(t))
    return "integer";
  if (/^(FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC)/.test(t)) return "float";
  if (/^BOOL/.test(t)) return "boolean";
  if (/^(TIMESTAMP|DATE)/.test(t)) return "timestamp";
  return "other";
}

const typeMatches = (want: ColumnType, got: string) => {
  const f = typeFamily(got);
  return want === "number" ? f === "integer" || f === "float" : f === want;
};
const numeric = (t: string) => ["integer", "float"].includes(typeFamily(t));

const literal = (v: string | number | boolean) =>
  typeof v === "string"
    ? `'${v.replaceAll("'", "''")}'`
    : typeof v === "boolean"
      ? v
        ? "TRUE"
        : "FALSE"
      : String(v);

const num = (v: unknown): number | null =>
  v === null || v === undefined ? null : typeof v === "bigint" ? Number(v) : Number(v);
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(4));

/**
 * Evaluates a suite over a dataset with as few passes as possible: the schema from the
 * Parquet metadata, every count, null, range, set, uniqueness and freshness check as one
 * aggregate query, and distribution checks from one seeded reservoir sample of the columns
 * they need (PSI and KS from the drift monitor's statistics).
 */
export async function evaluateSuite(
  engine: ValidationEngine,
  suite: ExpectationSuite,
  dataset: string,
  opts: EvaluateOptions = {},
): Promise<ValidationReport> {
  const started = Date.now();
  const now = opts.now ?? started;
  const opened = await engine.open(dataset);
  try {
    return await evaluateOpened(engine, suite, dataset, opened, { ...opts, now }, started);
  } finally {
    await opened.release();
  }
}

async function evaluateOpened(
  engine: ValidationEngine,
  suite: ExpectationSuite,
  dataset: string,
  opened: OpenedDataset,
  opts: EvaluateOptions & { now: number },
  started: number,
): Promise<ValidationReport> {
  const { now } = opts;
  const { dialect } = engine;
  const columns = new Map(opened.columns.map((c) => [c.name, c.type]));
  const rel = opened.relation;

  const exprs = new Map<string, string>();
  const alias = (sql: string) => {
    let a = exprs.get(sql);
    if (!a) {
      a = `a${exprs.size}`;
      exprs.set(sql, a);
    }
    return a;
  };
  const stats = opened.stats;
  // Figures the file metadata gives exactly become constants of the aggregate query.
  const nullsOf = (c: string) => {
    const known = stats?.get(c)?.nulls;
    return alias(known !== undefined ? `${known}` : `count(*) FILTER (WHERE ${q(c)} IS NULL)`);
  };
  const rowsAlias = alias("count(*)");

  type Pending = (
    agg: Record<string, unknown>,
    sample: Record<string, number[]>,
  ) => Omit<ExpectationResult, "name" | "kind" | "severity">;
  const pending: Array<{ e: Expectation; finish: Pending }> = [];
  const sampleColumns = new Set<string>();
  const fail = (message: string, observed: Observed = {}) => ({ passed: false, observed, message });
  const missing = (c: string) => () => fail(`column '${c}' is missing`, { column: c });

  for (const e of suite.expectations) {
    const add = (finish: Pending) => pending.push({ e, finish });
    const colOf = "column" in e ? e.column : undefined;
    if (colOf !== undefined && !columns.has(colOf)) {
      add(missing(colOf));
      continue;
    }
    switch (e.kind) {
      case "schema": {
        const checks = Object.entries(e.columns).map(([c, spec]) => ({
          c,
          spec,
          nulls: columns.has(c) && !spec.nullable ? nullsOf(c) : undefined,
        }));
        add((agg) => {
          const problems: string[] = [];
          for (const { c, spec, nulls } of checks) {
            const t = columns.get(c);
            if (t === undefined) problems.push(`column '${c}' is missing`);
            else if (!typeMatches(spec.type, t))
              problems.push(`column '${c}' is ${t}, expected ${spec.type}`);
            const n = nulls ? (num(agg[nulls]) ?? 0) : 0;
            if (n > 0) problems.push(`column '${c}' has ${n} nulls but is not nullable`);
          }
          if (e.exact)
            for (const c of columns.keys()) if (!(c in e.columns)) problems.push(`unexpected column '${c}'`);
          return problems.length
            ? fail(problems.join("; "), { problems: problems.length })
            : {
                passed: true,
                observed: { columns: columns.size },
                message: `${checks.length} columns as declared`,
              };
        });
        break;
      }
      case "range": {
        const t = columns.get(e.column)!;
        if (!numeric(t)) {
          add(() => fail(`column '${e.column}' is ${t}, not numeric`, { type: t }));
          break;
        }
        const cond = [
          e.min === undefined ? "" : `${q(e.column)} < ${e.min}`,
          e.max === undefined ? "" : `${q(e.column)} > ${e.max}`,
        ]
          .filter(Boolean)
          .join(" OR ");
        // Integer statistics only: a DECIMAL's are scaled, a float's are printed approximately.
        const st = typeFamily(t) === "integer" ? stats?.get(e.column) : undefined;
        const inside =
          st?.min !== undefined &&
          st.max !== undefined &&
          (e.min === undefined || st.min >= e.min) &&
          (e.max === undefined || st.max <= e.max);
        const bad = cond ? alias(inside ? "0" : `count(*) FILTER (WHERE ${cond})`) : undefined;
        const lo = alias(st?.min !== undefined ? `${st.min}` : `min(${q(e.column)})`);
        const hi = alias(st?.max !== undefined ? `${st.max}` : `max(${q(e.column)})`);
        add((agg) => {
          const n = bad ? (num(agg[bad]) ?? 0) : 0;
          const observed = { violations: n, min: num(agg[lo]), max: num(agg[hi]) };
          const want = `[${e.min ?? "-inf"}, ${e.max ?? "inf"}]`;
          return n > 0
            ? fail(
                `${n} values of '${e.column}' outside ${want} (min ${observed.min}, max ${observed.max})`,
                observed,
              )
            : { passed: true, observed, message: `every value of '${e.column}' in ${want}` };
        });
        break;
      }
      case "in_set": {
        const t = columns.get(e.column)!;
        const values = e.values.map((v) => (numeric(t) && typeof v === "string" ? Number(v) : v));
        const list = (typeFamily(t) === "string" ? values.map(String) : values).map(literal).join(", ");
        const bad = alias(
          `count(*) FILTER (WHERE ${q(e.column)} IS NOT NULL AND ${q(e.column)} NOT IN (${list}))`,
        );
        const example = alias(`min(${q(e.column)}) FILTER (WHERE ${q(e.column)} NOT IN (${list}))`);
        add((agg) => {
          const n = num(agg[bad]) ?? 0;
          const ex = agg[example] === null || agg[example] === undefined ? null : String(agg[example]);
          return n > 0
            ? fail(`${n} values of '${e.column}' outside the allowed set (e.g. '${ex}')`, {
                violations: n,
                example: ex,
              })
            : {
                passed: true,
                observed: { violations: 0 },
                message: `every value of '${e.column}' in the set`,
              };
        });
        break;
      }
      case "unique": {
        const absent = e.columns.find((c) => !columns.has(c));
        if (absent) {
          add(missing(absent));
          break;
        }
        const key = dialect.tuple(e.columns.map(q));
        const notNull = e.columns.map((c) => `${q(c)} IS NOT NULL`).join(" AND ");
        const present = alias(`count(*) FILTER (WHERE ${notNull})`);
        const st = e.columns.length === 1 ? stats?.get(e.columns[0]) : undefined;
        const bitmap =
          dialect.distinctIntegers &&
          st?.min !== undefined &&
          st.max !== undefined &&
          st.max - st.min < MAX_BITMAP_VALUES &&
          typeFamily(columns.get(e.columns[0])!) === "integer";
        const distinct = alias(
          bitmap
            ? dialect.distinctIntegers!(key, st!.min!, st!.max!)
            : `count(DISTINCT ${key}) FILTER (WHERE ${notNull})`,
        );
        add((agg) => {
          const dup = (num(agg[present]) ?? 0) - (num(agg[distinct]) ?? 0);
          return dup > 0
            ? fail(`${dup} rows repeat an earlier (${e.columns.join(", ")})`, { duplicates: dup })
            : { passed: true, observed: { duplicates: 0 }, message: `(${e.columns.join(", ")}) unique` };
        });
        break;
      }
      case "null_rate": {
        const nulls = nullsOf(e.column);
        add((agg) => {
          const rows = num(agg[rowsAlias]) ?? 0;
          const rate = rows ? (num(agg[nulls]) ?? 0) / rows : 0;
          const observed = { null_rate: rate, nulls: num(agg[nulls]) };
          return rate > e.max
            ? fail(
                `'${e.column}' is null in ${fmt(rate * 100)}% of rows (at most ${fmt(e.max * 100)}%)`,
                observed,
              )
            : { passed: true, observed, message: `'${e.column}' null in ${fmt(rate * 100)}% of rows` };
        });
        break;
      }
      case "row_count":
        add((agg) => {
          const rows = num(agg[rowsAlias]) ?? 0;
          const ok = (e.min === undefined || rows >= e.min) && (e.max === undefined || rows <= e.max);
          const want = `[${e.min ?? 0}, ${e.max ?? "inf"}]`;
          return ok
            ? { passed: true, observed: { rows }, message: `${rows} rows in ${want}` }
            : fail(`${rows} rows, expected ${want}`, { rows });
        });
        break;
      case "freshness": {
        const t = columns.get(e.column)!;
        const fam = typeFamily(t);
        if (fam !== "timestamp" && fam !== "integer") {
          add(() => fail(`column '${e.column}' is ${t}, not a timestamp`, { type: t }));
          break;
        }
        const newest = alias(
          fam === "timestamp"
            ? dialect.epochMs(`max(CAST(${q(e.column)} AS TIMESTAMP))`)
            : `max(${q(e.column)})`,
        );
        add((agg) => {
          const ms = num(agg[newest]);
          if (ms === null) return fail(`'${e.column}' has no values`, { newest: null });
          const age = (now - ms) / 1000;
          const observed = { newest: new Date(ms).toISOString(), age_seconds: age };
          return age > e.maxAgeSeconds
            ? fail(
                `newest '${e.column}' is ${observed.newest}, ${fmt(age)} s old (at most ${e.maxAgeSeconds} s)`,
                observed,
              )
            : { passed: true, observed, message: `newest '${e.column}' is ${fmt(age)} s old` };
        });
        break;
      }
      case "distribution": {
        const t = columns.get(e.column)!;
        if (!numeric(t)) {
          add(() => fail(`column '${e.column}' is ${t}, not numeric`, { type: t }));
          break;
        }
        sampleColumns.add(e.column);
        add((_agg, sample) => {
          const ref = opts.reference?.profile.features.find((f) => f.name === (e.feature ?? e.column));
          if (!ref)
            return fail(
              opts.reference
                ? `the reference profile (${opts.reference.label}) has no feature '${e.feature ?? e.column}'`
                : "no reference profile to compare with (name a model version in the suite's reference)",
            );
          const values = sample[e.column] ?? [];
          if (!values.length) return fail(`'${e.column}' has no values to compare`);
          const p = psi(ref.edges, ref.counts, values).psi;
          const ks = ksTwoSample(values, ref.sample);
          const observed = {
            psi: p,
            ks_statistic: ks.statistic,
            ks_p_value: ks.pValue,
            sample: values.length,
          };
          const problems = [
            e.maxPsi !== undefined && p > e.maxPsi ? `PSI ${fmt(p)} > ${e.maxPsi}` : "",
            e.minKsPValue !== undefined && ks.pValue < e.minKsPValue
              ? `KS p-value ${fmt(ks.pValue)} < ${e.minKsPValue}`
              : "",
          ].filter(Boolean);
          return problems.length
            ? fail(`'${e.column}' drifted from the reference: ${problems.join(", ")}`, observed)
            : {
                passed: true,
                observed,
                message: `'${e.column}' like the reference (PSI ${fmt(p)}, KS p ${fmt(ks.pValue)})`,
              };
        });
        break;
      }
    }
  }

  const selects = [...exprs].map(([sql, a]) => `${sql} AS ${a}`).join(", ");
  const [agg] = await engine.query(`SELECT ${selects} FROM ${rel}`);
  let scans = 1;
  const sample: Record<string, number[]> = {};
  if (sampleColumns.size) {
    const cols = [...sampleColumns];
    const rows = await engine.query(
      dialect.sample(
        cols.map((c) => `CAST(${q(c)} AS DOUBLE) AS ${q(c)}`).join(", "),
        rel,
        opts.sampleRows ?? 20_000,
        opts.seed ?? 42,
        num(agg?.[rowsAlias]) ?? 0,
      ),
    );
    scans++;
    for (const c of cols)
      sample[c] = rows
        .map((r) => r[c])
        .filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  }
  const results: ExpectationResult[] = pending.map(({ e, finish }) => ({
    name: expectationName(e),
    kind: e.kind,
    severity: e.severity,
    ...finish(agg ?? {}, sample),
  }));
  const errors = results.filter((r) => !r.passed && r.severity === "error").length;
  const warnings = results.filter((r) => !r.passed && r.severity === "warn").length;
  return {
    suite: suite.name,
    dataset,
    rows: num(agg?.[rowsAlias]) ?? 0,
    evaluatedAt: now,
    durationMs: Date.now() - started,
    passed: errors === 0,
    errors,
    warnings,
    scans,
    ...(opts.reference ? { reference: opts.reference.label } : {}),
    results,
  };
}

/** One line per failed expectation, errors first: what a failing step or command says. */
export function failureSummary(r: ValidationReport): string {
  const failed = r.results
    .filter((x) => !x.passed)
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
  if (!failed.length)
    return `suite ${r.suite}: all ${r.results.length} expectations passed on ${r.rows} rows`;
  return [
    `suite ${r.suite} on ${r.dataset}: ${r.errors} error(s), ${r.warnings} warning(s) over ${r.rows} rows`,
    ...failed.map((x) => `  ${x.severity.toUpperCase()} ${x.name}: ${x.message}`),
  ].join("\n");
}
