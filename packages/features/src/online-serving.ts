import { onlineRequestSchema } from "@keel/contract";
import type { z } from "zod";
import { type FeatureCatalog, outputNames } from "./catalog";
import { invalidFeatures } from "./errors";
import type { OnlineStore } from "./online/port";
import { checkJoinKey, encodeEntityKey, type FeatureValue } from "./values";

/** Feast's get-online-features request body. */
export { onlineRequestSchema };
export type OnlineRequest = z.input<typeof onlineRequestSchema>;

export type FieldStatus = "PRESENT" | "NULL_VALUE" | "NOT_FOUND" | "OUTSIDE_MAX_AGE";

/** Feast's GetOnlineFeaturesResponse as JSON: one column per feature name, entity keys first. */
export interface OnlineResponse {
  metadata: { feature_names: string[] };
  results: Array<{ values: unknown[]; statuses: FieldStatus[]; event_timestamps: string[] }>;
}

const EPOCH = "1970-01-01T00:00:00Z";
let lastSecond = Number.NaN;
let lastText = EPOCH;
/** RFC 3339 to the second; the last one is remembered, as a read's records share event times often. */
const rfc3339 = (ms: number) => {
  const sec = Math.floor(ms / 1000);
  if (sec !== lastSecond) {
    lastText = new Date(sec * 1000).toISOString().replace(".000Z", "Z");
    lastSecond = sec;
  }
  return lastText;
};

/**
 * Reads online features in Feast's shape. All views are read in parallel, one store call
 * per view; statuses: NOT_FOUND (no value stored), OUTSIDE_MAX_AGE (stored but older than the
 * view's ttl; its value is withheld), NULL_VALUE (stored as null), PRESENT.
 */
export async function getOnlineFeatures(
  online: OnlineStore,
  catalog: FeatureCatalog,
  input: OnlineRequest,
  nowMs: number,
): Promise<OnlineResponse> {
  const req = onlineRequestSchema.parse(input);
  const sels = catalog.select({ featureService: req.feature_service, features: req.features });
  const names = outputNames(sels, req.full_feature_names);
  const columns = Object.entries(req.entities);
  const n = columns[0]?.[1].length ?? 0;
  for (const [k, vals] of columns)
    if (vals.length !== n)
      throw invalidFeatures(`entities: '${k}' has ${vals.length} values, '${columns[0][0]}' has ${n}`);

  // Validate every key before touching the store, then read each view once.
  const keysPerView = sels.map((sel) => {
    const keyCols = sel.view.joinKeys.map((k) => {
      const vals = req.entities[k.name];
      if (!vals)
        throw invalidFeatures(`entities: missing join key '${k.name}' needed by '${sel.view.view.name}'`);
      return vals.map((v) => checkJoinKey(k.name, k.valueType, v));
    });
    return Array.from({ length: n }, (_, i) => encodeEntityKey(keyCols.map((c) => c[i])));
  });
  const records = await Promise.all(sels.map((s, i) => online.read(s.view.view.name, keysPerView[i])));

  const response: OnlineResponse = { metadata: { feature_names: [] }, results: [] };
  for (const [k, vals] of columns) {
    response.metadata.feature_names.push(k);
    response.results.push({
      values: vals,
      statuses: vals.map(() => "PRESENT"),
      event_timestamps: vals.map(() => EPOCH),
    });
  }
  sels.forEach((sel, i) => {
    const ttlMs = sel.view.view.ttlSeconds * 1000;
    // Per record, not per value: one timestamp string and one age check for all its features.
    const times = records[i].map((rec) => (rec ? rfc3339(rec.eventTs) : EPOCH));
    const expired = records[i].map((rec) => rec !== undefined && ttlMs > 0 && nowMs - rec.eventTs > ttlMs);
    sel.features.forEach((f, j) => {
      const values: FeatureValue[] = new Array(n);
      const statuses: FieldStatus[] = new Array(n);
      records[i].forEach((rec, r) => {
        const v = rec?.values[f.name];
        if (!rec) statuses[r] = "NOT_FOUND";
        else if (expired[r]) statuses[r] = "OUTSIDE_MAX_AGE";
        else if (v === null || v === undefined) statuses[r] = "NULL_VALUE";
        else {
          statuses[r] = "PRESENT";
          values[r] = v;
          return;
        }
        values[r] = null;
      });
      response.metadata.feature_names.push(names[i][j]);
      response.results.push({ values, statuses, event_timestamps: times });
    });
  });
  return response;
}

/** A Feast response as one record per entity row (name -> value), for enrichment. */
export function onlineResponseToRows(resp: OnlineResponse): Array<Record<string, unknown>> {
  const n = resp.results[0]?.values.length ?? 0;
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(resp.metadata.feature_names.map((name, c) => [name, resp.results[c].values[i]])),
  );
}
