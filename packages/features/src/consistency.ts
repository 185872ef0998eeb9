import { createHash } from "node:crypto";
import type { FeatureCatalog } from "./catalog";
import { invalidFeatures } from "./errors";
import { checkSourceColumns } from "./historical";
import { toOnlineWrite } from "./materialize";
import type { OfflineStore, Row } from "./offline/port";
import type { OnlineRecord, OnlineStore } from "./online/port";
import { CachedOnlineStore } from "./online/read-cache";
import type { FeatureValue } from "./values";

export interface ConsistencyRequest {
  view: string;
  /** Entities sampled from the offline store (default 1000). */
  sample?: number;
  /** Seeds the sample, so a check can be repeated on the same entities. */
  seed?: number;
  /** Numbers are equal when within this relative tolerance (default 1e-9). */
  tolerance?: number;
  /** The largest per-feature mismatch rate that passes (default 0). */
  threshold?: number;
}

export interface FeatureConsistency {
  name: string;
  /** Entities with no online value although the offline store has one. */
  missing: number;
  /** Online value older than the offline store's newest row for the entity, and different from it. */
  stale: number;
  /** Online value different from the offline value recomputed at the online row's event time. */
  different: number;
  mismatchRate: number;
  /** A few mismatching entities, for a look. */
  examples: Array<{
    entity: string;
    kind: "missing" | "stale" | "different";
    online: FeatureValue | undefined;
    offline: FeatureValue;
  }>;
}

export interface ConsistencyReport {
  view: string;
  /** Entities in the offline store's window, and how many were sampled. */
  entities: number;
  sampled: number;
  threshold: number;
  passed: boolean;
  /** Share of sampled entities with any mismatch. */
  mismatchRate: number;
  features: FeatureConsistency[];
  durationMs: number;
  /** Where the time went: reading the offline store's latest rows, the online reads, the point-in-time recompute. */
  phasesMs: { offline: number; online: number; pointInTime: number };
}

const rank = (seed: number, key: string) => createHash("sha1").update(`${seed}:${key}`).digest("hex");

function same(a: FeatureValue | undefined, b: FeatureValue, tol: number): boolean {
  if (a === undefined) return false;
  if (typeof a === "number" && typeof b === "number")
    return a === b || Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
  return a === b;
}

/**
 * Training-serving skew: samples entities of a view from the offline store, reads their
 * online values, recomputes the same values point-in-time from the offline store at the
 * online rows' event times, and counts per feature the entities whose online value is
 * missing, stale (older than the offline store's newest row, and different from it) or
 * different from the recomputed value.
 */
export async function checkConsistency(
  deps: { offline: OfflineStore; online: OnlineStore; catalog: FeatureCatalog; nowMs: number },
  req: ConsistencyRequest,
): Promise<ConsistencyReport> {
  const started = Date.now();
  const { offline, online, catalog, nowMs } = deps;
  const rv = catalog.getView(req.view);
  if (!rv.view.online) throw invalidFeatures(`feature view '${req.view}' is not online`);
  checkSourceColumns(rv, await offline.describeSource(rv.source));
  const joinKeys = rv.joinKeys.map((k) => k.name);
  const features = rv.view.schema.map((f) => f.name);
  const sampleSize = req.sample ?? 1000;
  const seed = req.seed ?? 0;
  const tol = req.tolerance ?? 1e-9;
  const threshold = req.threshold ?? 0;

  // The newest offline row per entity: the population to sample and the "latest" truth.
  const latest: Array<{ write: ReturnType<typeof toOnlineWrite>; row: Row; rank: string }> = [];
  for await (const chunk of offline.latestRows(
    rv.source,
    {
      joinKeys,
      timestampField: rv.source.timestampField,
      createdField: rv.source.createdTimestampColumn,
      features,
      endMs: nowMs,
    },
    10_000,
  )) {
    for (const row of chunk) {
      const write = toOnlineWrite(rv, row);
      // Rows past the view's ttl are not served online, so their absence is no mismatch.
      if (rv.view.ttlSeconds > 0 && write.eventTs + rv.view.ttlSeconds * 1000 <= nowMs) continue;
      latest.push({ write, row, rank: rank(seed, write.entityKey) });
    }
  }
  const tOffline = Date.now();
  const sampled = latest.sort((a, b) => (a.rank < b.rank ? -1 : 1)).slice(0, sampleSize);
  const records: Array<OnlineRecord | undefined> = sampled.length
    ? // What the store holds, not what this process cached of it.
      await (online instanceof CachedOnlineStore ? online.inner : online).read(
        rv.view.name,
        sampled.map((s) => s.write.entityKey),
      )
    : [];

  const tOnline = Date.now();
  // Point-in-time values at each online row's event time.
  const present = sampled.map((s, i) => ({ s, rec: records[i] })).filter((x) => x.rec !== undefined);
  const recomputed = new Map<string, Record<string, FeatureValue>>();
  if (present.length) {
    const { rows = [] } = await offline.pointInTimeJoin(
      {
        rows: present.map(({ s, rec }) => ({
          ...Object.fromEntries(joinKeys.map((k) => [k, s.row[k]])),
          event_timestamp: new Date(rec!.eventTs),
          keel_entity: s.write.entityKey,
        })),
      },
      [rv.source],
      {
        entityColumns: [...joinKeys, "event_timestamp", "keel_entity"],
        views: [
          {
            joinKeys,
            timestampField: rv.source.timestampField,
            createdField: rv.source.createdTimestampColumn,
            ttlSeconds: 0,
            features: features.map((f) => ({ name: f, as: `keel_f_${f}` })),
          },
        ],
      },
      { kind: "rows" },
    );
    for (const r of rows) {
      const values = toOnlineWrite(rv, {
        ...Object.fromEntries(features.map((f) => [f, r[`keel_f_${f}`]])),
        ...Object.fromEntries(joinKeys.map((k) => [k, r[k]])),
      }).values;
      recomputed.set(String(r.keel_entity), values);
    }
  }

  const tPit = Date.now();
  const byFeature = new Map<string, FeatureConsistency>(
    features.map((f) => [f, { name: f, missing: 0, stale: 0, different: 0, mismatchRate: 0, examples: [] }]),
  );
  const bad = new Set<string>();
  sampled.forEach((s, i) => {
    const rec = records[i];
    const stale = rec !== undefined && rec.eventTs < s.write.eventTs;
    for (const f of features) {
      const fc = byFeature.get(f)!;
      const onlineValue = rec?.values[f];
      const latestValue = s.write.values[f];
      let kind: FeatureConsistency["examples"][number]["kind"] | undefined;
      let offlineValue = latestValue;
      if (!rec || !(f in rec.values)) kind = "missing";
      else if (stale && !same(onlineValue, latestValue, tol)) kind = "stale";
      else {
        offlineValue = recomputed.get(s.write.entityKey)?.[f] ?? null;
        if (!same(onlineValue, offlineValue, tol)) kind = "different";
      }
      if (!kind) continue;
      fc[kind]++;
      bad.add(s.write.entityKey);
      if (fc.examples.length < 5)
        fc.examples.push({ entity: s.write.entityKey, kind, online: onlineValue, offline: offlineValue });
    }
  });
  const list = [...byFeature.values()].map((f) => ({
    ...f,
    mismatchRate: sampled.length ? (f.missing + f.stale + f.different) / sampled.length : 0,
  }));
  return {
    view: rv.view.name,
    entities: latest.length,
    sampled: sampled.length,
    threshold,
    passed: list.every((f) => f.mismatchRate <= threshold),
    mismatchRate: sampled.length ? bad.size / sampled.length : 0,
    features: list,
    durationMs: Date.now() - started,
    phasesMs: { offline: tOffline - started, online: tOnline - tOffline, pointInTime: tPit - tOnline },
  };
}
