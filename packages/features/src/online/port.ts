import type { FeatureValue } from "../values";

/** One feature view's values for one entity, as the online store keeps them. */
export interface OnlineRecord {
  /** Event time of the values (ms since the epoch). */
  eventTs: number;
  /** Created time, the tie-breaker between equal event times (ms; 0 when the source has none). */
  createdTs: number;
  values: Record<string, FeatureValue>;
}

export interface OnlineWrite extends OnlineRecord {
  /** `encodeEntityKey` of the view's join-key values. */
  entityKey: string;
}

/** What a store needs to know about the view it writes. */
export interface OnlineViewInfo {
  name: string;
  /** Values expire this long after their event time; 0 = never. */
  ttlSeconds: number;
}

export interface OnlineWriteResult {
  /**
   * Rows sent to the store. A store that resolves conflicts itself (CQL: last write wins by
   * timestamp) cannot tell which of them lost to a newer stored value, so they count here.
   */
  written: number;
  /** Rows not stored: superseded within the call, already expired, or rejected as older. */
  skipped: number;
}

/**
 * OnlineStore: the latest feature values per (entity key, feature view), for low-latency
 * reads. Adapters: DynamoDB (an item per entity and view) and CQL (Keyspaces, ScyllaDB,
 * Cassandra: a partition per entity and view).
 */
export interface OnlineStore {
  /** Creates the table/keyspace where this store owns its schema (local use); a no-op otherwise. */
  ensureSchema(): Promise<void>;
  /**
   * Writes rows of one view. Per entity key the value with the latest event time wins (equal
   * event times: the latest created time, where the store can tell), whatever the order of
   * writes: replaying older rows never replaces newer ones, so writes are idempotent. Rows
   * whose ttl has already passed at `nowMs` are skipped. Rows of the same entity key within one
   * call are reduced to the latest first. Not atomic across rows: a failure may leave a prefix
   * written, which a retry completes.
   */
  write(view: OnlineViewInfo, rows: OnlineWrite[], nowMs: number): Promise<OnlineWriteResult>;
  /**
   * Reads one view for many entity keys, results in the order of `entityKeys` (undefined where
   * absent). One logical round trip per call: a batch read, or bounded concurrent point reads.
   * Values past their ttl may be returned or not; callers judge age from `eventTs`.
   */
  read(view: string, entityKeys: string[]): Promise<Array<OnlineRecord | undefined>>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Keeps, per entity key, only the row that would win: latest event time, then created time. */
export function latestPerEntity(rows: OnlineWrite[]): OnlineWrite[] {
  const best = new Map<string, OnlineWrite>();
  for (const r of rows) {
    const cur = best.get(r.entityKey);
    if (!cur || r.eventTs > cur.eventTs || (r.eventTs === cur.eventTs && r.createdTs >= cur.createdTs))
      best.set(r.entityKey, r);
  }
  return [...best.values()];
}

/** Seconds a row still has to live at `nowMs` (undefined: no ttl; <= 0: already expired). */
export function remainingTtlSeconds(ttlSeconds: number, eventTs: number, nowMs: number): number | undefined {
  if (ttlSeconds === 0) return undefined;
  return Math.floor((eventTs + ttlSeconds * 1000 - nowMs) / 1000);
}

/** Runs `fn` over items with at most `limit` in flight; results in input order. */
export async function mapBounded<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
