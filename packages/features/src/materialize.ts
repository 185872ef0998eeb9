import type { FeatureCatalog, ResolvedView } from "./catalog";
import { checkSourceColumns } from "./historical";
import type { OfflineStore } from "./offline/port";
import type { OnlineStore, OnlineWrite } from "./online/port";
import type { FeatureRegistry } from "./registry";
import { checkJoinKey, encodeEntityKey, type FeatureValue, toEpochMs, toFeatureValue } from "./values";

export interface MaterializeRequest {
  /** From each view's watermark instead of from the beginning. */
  incremental?: boolean;
  /** Only these views (default: every online view). */
  views?: string[];
  /** Rows per online write batch. */
  chunkSize?: number;
  onProgress?: (p: MaterializeProgress) => void;
}

export interface MaterializeProgress {
  view: string;
  rowsRead: number;
  written: number;
  skipped: number;
  done: boolean;
}

export interface MaterializeViewResult extends MaterializeProgress {
  /** Window materialized: (startMs, endMs]; startMs null for a full run. */
  startMs: number | null;
  endMs: number;
}

/**
 * Loads the latest row per entity of each online view from the offline store into the online
 * store, chunk by chunk, then moves the view's watermark to the window's end. Re-running is
 * safe: online writes never replace newer values, and the watermark only moves forward.
 * A failure stops before the watermark moves, so the next incremental run covers the window
 * again. Sources are checked against the views before anything is written.
 */
export async function materialize(
  deps: {
    offline: OfflineStore;
    online: OnlineStore;
    registry: FeatureRegistry;
    catalog: FeatureCatalog;
    nowMs: number;
  },
  req: MaterializeRequest,
): Promise<MaterializeViewResult[]> {
  const { offline, online, registry, catalog, nowMs } = deps;
  const views = req.views?.length
    ? req.views.map((v) => catalog.getView(v))
    : catalog.allViews().filter((v) => v.view.online);
  for (const rv of views) checkSourceColumns(rv, await offline.describeSource(rv.source));
  const results: MaterializeViewResult[] = [];
  for (const rv of views) {
    const start = req.incremental ? await registry.watermark(rv.view.name) : 0;
    const progress: MaterializeProgress = {
      view: rv.view.name,
      rowsRead: 0,
      written: 0,
      skipped: 0,
      done: false,
    };
    const chunks = offline.latestRows(
      rv.source,
      {
        joinKeys: rv.joinKeys.map((k) => k.name),
        timestampField: rv.source.timestampField,
        createdField: rv.source.createdTimestampColumn,
        features: rv.view.schema.map((f) => f.name),
        startMs: start > 0 ? start : undefined,
        endMs: nowMs,
      },
      req.chunkSize ?? 5_000,
    );
    for await (const chunk of chunks) {
      const rows = chunk.map((r) => toOnlineWrite(rv, r));
      const res = await online.write({ name: rv.view.name, ttlSeconds: rv.view.ttlSeconds }, rows, nowMs);
      progress.rowsRead += chunk.length;
      progress.written += res.written;
      progress.skipped += res.skipped;
      req.onProgress?.({ ...progress });
    }
    await registry.advanceWatermark(rv.view.name, nowMs);
    progress.done = true;
    req.onProgress?.({ ...progress });
    results.push({ ...progress, startMs: start > 0 ? start : null, endMs: nowMs });
  }
  return results;
}

/** A source row (join keys, keel_ts, keel_created, features) as an online write. */
export function toOnlineWrite(rv: ResolvedView, r: Record<string, unknown>): OnlineWrite {
  const values: Record<string, FeatureValue> = {};
  for (const f of rv.view.schema) values[f.name] = toFeatureValue(f.name, f.dtype, r[f.name]);
  return {
    entityKey: encodeEntityKey(rv.joinKeys.map((k) => checkJoinKey(k.name, k.valueType, r[k.name]))),
    eventTs: toEpochMs(r.keel_ts) ?? 0,
    createdTs: toEpochMs(r.keel_created) ?? 0,
    values,
  };
}
