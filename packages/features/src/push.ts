import { pushRequestSchema } from "@keel/contract";
import type { z } from "zod";
import type { FeatureCatalog } from "./catalog";
import type { ValueType } from "./definitions";
import { invalidFeatures } from "./errors";
import { toOnlineWrite } from "./materialize";
import type { AppendColumn, OfflineStore, Row } from "./offline/port";
import type { OnlineStore } from "./online/port";
import { checkJoinKey, toEpochMs, toFeatureValue } from "./values";

/** Feast's push request: columnar rows for a push source, and where they go. */
export { pushRequestSchema };
export type PushRequest = z.input<typeof pushRequestSchema>;

export interface PushResult {
  rows: number;
  offlineFile?: string;
  online: Array<{ view: string; written: number; skipped: number }>;
}

const PARQUET_TYPE: Record<ValueType, AppendColumn["type"]> = {
  int64: "INT64",
  int32: "INT32",
  float64: "DOUBLE",
  float32: "FLOAT",
  string: "STRING",
  bool: "BOOLEAN",
  timestamp: "TIMESTAMP",
};

/**
 * Pushes rows through a push source: every row is validated against every view the source
 * feeds before anything is written; then the rows are appended offline (one new Parquet file)
 * and written online, where older events never replace newer ones, so pushes may arrive in
 * any order.
 */
export async function push(
  deps: { offline: OfflineStore; online: OnlineStore; catalog: FeatureCatalog; nowMs: number },
  input: PushRequest,
): Promise<PushResult> {
  const req = pushRequestSchema.parse(input);
  const { catalog } = deps;
  const ps = catalog.getPushSource(req.push_source_name);
  const views = catalog.viewsOfPushSource(ps.name);
  if (views.length === 0) throw invalidFeatures(`push source '${ps.name}' feeds no feature view`);
  const batch = views[0].source;

  const columns = new Map<string, AppendColumn["type"]>();
  for (const v of views) {
    for (const k of v.joinKeys) columns.set(k.name, k.valueType === "int64" ? "INT64" : "STRING");
    for (const f of v.view.schema) columns.set(f.name, PARQUET_TYPE[f.dtype]);
  }
  columns.set(batch.timestampField, "TIMESTAMP");
  if (batch.createdTimestampColumn) columns.set(batch.createdTimestampColumn, "TIMESTAMP");

  const given = Object.keys(req.df);
  for (const c of given)
    if (!columns.has(c)) throw invalidFeatures(`df: column '${c}' is not in push source '${ps.name}'`);
  for (const c of columns.keys())
    if (!req.df[c] && c !== batch.createdTimestampColumn) throw invalidFeatures(`df: missing column '${c}'`);
  const n = req.df[given[0]]?.length ?? 0;
  if (n === 0) throw invalidFeatures("df: no rows");
  for (const c of given)
    if (req.df[c].length !== n)
      throw invalidFeatures(`df: column '${c}' has ${req.df[c].length} values, expected ${n}`);

  const rows: Row[] = Array.from({ length: n }, (_, i) =>
    Object.fromEntries(given.map((c) => [c, req.df[c][i]])),
  );
  // Validate every row for every view (types, keys, timestamps) before any write.
  const perView = views.map((v) => ({
    view: v,
    writes: rows.map((r, i) => {
      const ts = toEpochMs(r[batch.timestampField]);
      if (ts === undefined) throw invalidFeatures(`row ${i}: '${batch.timestampField}' is not a timestamp`);
      const created = batch.createdTimestampColumn ? r[batch.createdTimestampColumn] : undefined;
      if (created !== undefined && created !== null && toEpochMs(created) === undefined)
        throw invalidFeatures(`row ${i}: '${batch.createdTimestampColumn}' is not a timestamp`);
      for (const k of v.joinKeys) checkJoinKey(k.name, k.valueType, r[k.name]);
      for (const f of v.view.schema) toFeatureValue(f.name, f.dtype, r[f.name]);
      return toOnlineWrite(v, { ...r, keel_ts: ts, keel_created: created });
    }),
  }));

  const result: PushResult = { rows: n, online: [] };
  if (req.to !== "online") {
    const cols = [...columns]
      .filter(([name]) => given.includes(name))
      .map(([name, type]) => ({ name, type }));
    result.offlineFile = await deps.offline.append(batch, cols, rows);
  }
  if (req.to !== "offline") {
    for (const { view, writes } of perView) {
      if (!view.view.online) continue;
      const r = await deps.online.write(
        { name: view.view.name, ttlSeconds: view.view.ttlSeconds },
        writes,
        deps.nowMs,
      );
      result.online.push({ view: view.view.name, ...r });
    }
  }
  return result;
}
