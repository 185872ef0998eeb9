import { currentPrincipal, newToken, pad } from "@keel/core";
import type { Item, Key, MetadataStore } from "@keel/metadata";
import { invalidParam } from "./errors";
import { comparePoints, type HistoryPoint } from "./metric-values";

/**
 * Metric histories as immutable chunks, so concurrent writers never lose each other's points
 * and a write call costs a few items whatever its size:
 *   - keyed chunks, MH#<runId>#<key>: one item per (call, key) for calls with few keys, so the
 *     history of a key is one partition;
 *   - mixed chunks, MHX#<runId>: calls with many distinct keys (a log-batch of 1000 different
 *     metrics) write all their points as one item (split under the item size limit) instead
 *     of one item per key; reading a key also scans the run's mixed chunks.
 * Points are stored as one JSON string per chunk: far cheaper to marshal than DynamoDB lists.
 */
const keyedPk = (runId: string, key: string) => `MH#${runId}#${key}`;
const mixedPk = (runId: string) => `MHX#${runId}`;

/** Calls with more distinct keys than this write mixed chunks. */
const MAX_KEYED_CHUNKS_PER_CALL = 8;
/** Bytes of points per chunk item, well under DynamoDB's 400 KB item limit. */
const MAX_CHUNK_BYTES = 300_000;

export class MetricHistoryStore {
  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number,
  ) {}

  /** Writes the points of one call; returns the keys of the items written (to undo them). */
  async append(runId: string, byKey: Map<string, HistoryPoint[]>): Promise<Key[]> {
    if (byKey.size === 0) return [];
    const sk = () => `C#${pad(this.now(), 15)}#${newToken(9)}`;
    const by = currentPrincipal();
    let items: Item[];
    if (byKey.size <= MAX_KEYED_CHUNKS_PER_CALL) {
      items = [...byKey].map(([key, points]) => ({
        pk: keyedPk(runId, key),
        sk: sk(),
        data: JSON.stringify(points),
        by,
      }));
    } else {
      items = splitMixed(byKey).map((part) => ({
        pk: mixedPk(runId),
        sk: sk(),
        data: JSON.stringify(part),
        by,
      }));
    }
    if (items.length === 1) await this.store.put(items[0]);
    else await this.store.batchPut(items);
    return items.map(({ pk, sk }) => ({ pk, sk }));
  }

  async remove(keys: Key[]): Promise<void> {
    if (keys.length) await this.store.batchDelete(keys);
  }

  /** Every point of a metric, ordered by step, timestamp, value. */
  async read(runId: string, key: string): Promise<HistoryPoint[]> {
    const [keyed, mixed] = await Promise.all([
      this.store.queryAll({ pk: keyedPk(runId, key), prefix: "C#" }),
      this.store.queryAll({ pk: mixedPk(runId), prefix: "C#" }),
    ]);
    const points: HistoryPoint[] = [];
    for (const it of keyed) for (const p of JSON.parse(String(it.data)) as HistoryPoint[]) points.push(p);
    for (const it of mixed) {
      const part = JSON.parse(String(it.data)) as Record<string, HistoryPoint[]>;
      for (const p of part[key] ?? []) points.push(p);
    }
    return points.sort(comparePoints);
  }
}

/** Groups keys into parts whose JSON stays under MAX_CHUNK_BYTES. */
function splitMixed(byKey: Map<string, HistoryPoint[]>): Array<Record<string, HistoryPoint[]>> {
  const parts: Array<Record<string, HistoryPoint[]>> = [];
  let cur: Record<string, HistoryPoint[]> = {};
  let size = 2;
  for (const [key, points] of byKey) {
    const bytes = Buffer.byteLength(JSON.stringify(key)) + Buffer.byteLength(JSON.stringify(points)) + 2;
    if (bytes > MAX_CHUNK_BYTES) throw invalidParam(`Too many points for metric '${key}' in one request`);
    if (size + bytes > MAX_CHUNK_BYTES) {
      parts.push(cur);
      cur = {};
      size = 2;
    }
    cur[key] = points;
    size += bytes;
  }
  parts.push(cur);
  return parts;
}
