/**
 * The portable SQL behind point-in-time joins and materialization. It uses only what both
 * DuckDB and Athena (Trino) accept: CTEs, equi + range joins, ROW_NUMBER() windows,
 * `INTERVAL 'n' SECOND`, `TIMESTAMP '...'` literals and double-quoted identifiers. Adapters
 * supply the relations (a `read_parquet(...)` call locally, a Glue table in Athena); every
 * identifier was validated as [A-Za-z_][A-Za-z0-9_]* by the definition schemas.
 */

export const q = (ident: string) => `"${ident}"`;

/** A TIMESTAMP literal both engines parse (UTC, millisecond precision). */
export function timestampLiteral(ms: number): string {
  return `TIMESTAMP '${new Date(ms).toISOString().replace("T", " ").replace("Z", "")}'`;
}

export interface PitViewSpec {
  /** Relation SQL of the view's source. */
  relation: string;
  joinKeys: string[];
  timestampField: string;
  createdField?: string;
  ttlSeconds: number;
  features: Array<{ name: string; as: string }>;
}

export interface PitSpec {
  /** Relation SQL of the entity rows (join keys + event_timestamp + pass-through columns). */
  entities: string;
  /** Entity columns to return, in order. */
  entityColumns: string[];
  views: PitViewSpec[];
}

const ROW_ID = "keel_row_id";
const RANK = "keel_rank";

function latestOrder(ts: string, created?: string): string {
  return created ? `${ts} DESC, ${created} DESC NULLS LAST` : `${ts} DESC`;
}

/**
 * Feast's point-in-time join: for each entity row and view, the source row with the same
 * join keys, event time <= the entity's event_timestamp and (ttl > 0) >= event_timestamp
 * minus ttl; the latest event time wins, ties broken by the latest created time; no match
 * leaves the view's features null. One ranked CTE per view, then left joins on a row id, so
 * the entity rows come back exactly once each, in their input order.
 */
export function buildPitSql(spec: PitSpec): string {
  const ctes = [
    `keel_entities AS (SELECT keel_e.*, ROW_NUMBER() OVER () AS ${ROW_ID} FROM ${spec.entities} keel_e)`,
  ];
  spec.views.forEach((v, i) => {
    const src = `keel_src_${i}`;
    const ts = "keel_ts";
    const created = v.createdField ? "keel_created" : undefined;
    const srcCols = [
      ...v.joinKeys.map(q),
      `CAST(${q(v.timestampField)} AS TIMESTAMP) AS ${ts}`,
      ...(v.createdField ? [`CAST(${q(v.createdField)} AS TIMESTAMP) AS ${created}`] : []),
      ...v.features.map((f) => q(f.name)),
    ];
    ctes.push(`${src} AS (SELECT ${srcCols.join(", ")} FROM ${v.relation})`);
    const on = [
      ...v.joinKeys.map((k) => `f.${q(k)} = e.${q(k)}`),
      `f.${ts} <= CAST(e."event_timestamp" AS TIMESTAMP)`,
      ...(v.ttlSeconds > 0
        ? [`f.${ts} >= CAST(e."event_timestamp" AS TIMESTAMP) - INTERVAL '${v.ttlSeconds}' SECOND`]
        : []),
    ];
    const order = latestOrder(`f.${ts}`, created && `f.${created}`);
    const picked = v.features.map((f) => `f.${q(f.name)} AS ${q(f.as)}`);
    ctes.push(
      `keel_pit_${i} AS (SELECT * FROM (SELECT e.${ROW_ID}, ${picked.join(", ")}, ` +
        `ROW_NUMBER() OVER (PARTITION BY e.${ROW_ID} ORDER BY ${order}) AS ${RANK} ` +
        `FROM keel_entities e JOIN ${src} f ON ${on.join(" AND ")}) keel_ranked WHERE ${RANK} = 1)`,
    );
  });
  const cols = [
    ...spec.entityColumns.map((c) => `e.${q(c)}`),
    ...spec.views.flatMap((v, i) => v.features.map((f) => `p${i}.${q(f.as)}`)),
  ];
  const joins = spec.views.map((_, i) => `LEFT JOIN keel_pit_${i} p${i} ON p${i}.${ROW_ID} = e.${ROW_ID}`);
  return `WITH ${ctes.join(",\n")}\nSELECT ${cols.join(", ")} FROM keel_entities e\n${joins.join("\n")}\nORDER BY e.${ROW_ID}`;
}

export interface LatestSpec {
  relation: string;
  joinKeys: string[];
  timestampField: string;
  createdField?: string;
  features: string[];
  /** Exclusive lower bound on event time (ms); undefined for none. */
  startMs?: number;
  /** Inclusive upper bound on event time (ms). */
  endMs: number;
}

/**
 * What materialization loads: per entity key, the latest source row with start < event
 * time <= end (ties by latest created time). Columns: join keys, keel_ts, keel_created, features.
 */
export function buildLatestSql(spec: LatestSpec): string {
  const ts = `CAST(${q(spec.timestampField)} AS TIMESTAMP)`;
  const created = spec.createdField
    ? `CAST(${q(spec.createdField)} AS TIMESTAMP)`
    : "CAST(NULL AS TIMESTAMP)";
  const where = [`${ts} <= ${timestampLiteral(spec.endMs)}`];
  if (spec.startMs !== undefined) where.push(`${ts} > ${timestampLiteral(spec.startMs)}`);
  const keys = spec.joinKeys.map(q).join(", ");
  const order = spec.createdField ? `${ts} DESC, ${created} DESC NULLS LAST` : `${ts} DESC`;
  const cols = [
    ...spec.joinKeys.map(q),
    `${ts} AS keel_ts`,
    `${created} AS keel_created`,
    ...spec.features.map(q),
  ];
  return (
    `SELECT * FROM (SELECT ${cols.join(", ")}, ROW_NUMBER() OVER (PARTITION BY ${keys} ORDER BY ${order}) AS ${RANK} ` +
    `FROM ${spec.relation} WHERE ${where.join(" AND ")}) keel_latest WHERE ${RANK} = 1`
  );
}
