import { type FeatureCatalog, outputNames, type ResolvedView, type ViewSelection } from "./catalog";
import { invalidFeatures } from "./errors";
import type { EntitySource, JoinOutput, OfflineStore, Row, SqlColumn } from "./offline/port";
import { isTimestampSqlType, sqlTypeAccepts } from "./values";

export interface HistoricalRequest {
  entities: EntitySource;
  features?: string[];
  featureService?: string;
  fullFeatureNames?: boolean;
  /** Write the training set here as Parquet instead of returning rows. */
  outPath?: string;
}

export interface HistoricalResult {
  rowCount: number;
  rows?: Row[];
  /** Output columns: entity columns, then features. */
  columns: string[];
  /** Where the training set was written, when it was. */
  uri?: string;
}

/**
 * Checks that a source has every column a view declares, with compatible types; names the
 * view, the source and the column otherwise.
 */
export function checkSourceColumns(rv: ResolvedView, cols: SqlColumn[]): void {
  const byName = new Map(cols.map((c) => [c.name, c.type]));
  const where = `feature view '${rv.view.name}': source '${rv.source.name}'`;
  const need = (name: string, ok: (t: string) => boolean, what: string) => {
    const t = byName.get(name);
    if (t === undefined) throw invalidFeatures(`${where} has no column '${name}' (${what})`);
    if (!ok(t)) throw invalidFeatures(`${where}: column '${name}' is ${t}, expected ${what}`);
  };
  for (const k of rv.joinKeys)
    need(k.name, (t) => sqlTypeAccepts(k.valueType, t), `join key, ${k.valueType}`);
  need(rv.source.timestampField, isTimestampSqlType, "event timestamp");
  if (rv.source.createdTimestampColumn)
    need(rv.source.createdTimestampColumn, isTimestampSqlType, "created timestamp");
  for (const f of rv.view.schema) need(f.name, (t) => sqlTypeAccepts(f.dtype, t), f.dtype);
}

/** Validates the entity dataset against the views it is joined with. */
function checkEntityColumns(cols: SqlColumn[], sels: ViewSelection[]): void {
  const byName = new Map(cols.map((c) => [c.name, c.type]));
  const ts = byName.get("event_timestamp");
  if (ts === undefined) throw invalidFeatures("entity rows have no 'event_timestamp' column");
  if (!isTimestampSqlType(ts))
    throw invalidFeatures(`entity column 'event_timestamp' is ${ts}, expected a timestamp`);
  for (const s of sels) {
    for (const k of s.view.joinKeys) {
      const t = byName.get(k.name);
      if (t === undefined)
        throw invalidFeatures(
          `entity rows have no join key column '${k.name}' (needed by '${s.view.view.name}')`,
        );
      if (!sqlTypeAccepts(k.valueType, t))
        throw invalidFeatures(
          `entity column '${k.name}' is ${t}, but join key '${k.name}' is ${k.valueType}`,
        );
    }
  }
}

/**
 * Builds a point-in-time correct training set (Feast semantics, see `buildPitSql`) after
 * validating everything it touches, so a bad request fails before any output is written.
 */
export async function getHistoricalFeatures(
  offline: OfflineStore,
  catalog: FeatureCatalog,
  req: HistoricalRequest,
): Promise<HistoricalResult> {
  const sels = catalog.select(req);
  const names = outputNames(sels, req.fullFeatureNames ?? false);
  const entityCols = await offline.describeEntities(req.entities);
  checkEntityColumns(entityCols, sels);
  const entityNames = entityCols.map((c) => c.name);
  for (const n of names.flat())
    if (entityNames.includes(n))
      throw invalidFeatures(
        `feature '${n}' has the name of an entity column; set full_feature_names or rename it`,
      );
  for (const s of sels) checkSourceColumns(s.view, await offline.describeSource(s.view.source));

  const output: JoinOutput = req.outPath ? { kind: "parquet", path: req.outPath } : { kind: "rows" };
  const res = await offline.pointInTimeJoin(
    req.entities,
    sels.map((s) => s.view.source),
    {
      entityColumns: entityNames,
      views: sels.map((s, i) => ({
        joinKeys: s.view.joinKeys.map((k) => k.name),
        timestampField: s.view.source.timestampField,
        createdField: s.view.source.createdTimestampColumn,
        ttlSeconds: s.view.view.ttlSeconds,
        features: s.features.map((f, j) => ({ name: f.name, as: names[i][j] })),
      })),
    },
    output,
  );
  return { rowCount: res.rowCount, rows: res.rows, columns: [...entityNames, ...names.flat()] };
}
