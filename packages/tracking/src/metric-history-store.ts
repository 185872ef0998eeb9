import { currentPrincipal, newToken, pad } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { comparePoints, type HistoryPoint } from "./metric-values";

/**
 * Metric histories as chunks: one item per (write call, metric key) under MH#<runId>#<key>,
 * holding every point that call logged for that key. A log-batch of 1000 points over a few
 * keys is a few items written in one BatchWriteItem; a read queries one partition and
 * flattens. Chunks are never updated, so concurrent writers cannot lose each other's points.
 */
const historyPk = (runId: string, key: string) => `MH#${runId}#${key}`;

export class MetricHistoryStore {
  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number,
  ) {}

  /** Writes the points of one call, grouped by key, as one chunk per key. */
  async append(runId: string, byKey: Map<string, HistoryPoint[]>): Promise<void> {
    const t = pad(this.now(), 15);
    const by = currentPrincipal();
    const items = [...byKey].map(([key, points]) => ({
      pk: historyPk(runId, key),
      sk: `C#${t}#${newToken(9)}`,
      points,
      by,
    }));
    if (items.length === 1) await this.store.put(items[0]);
    else if (items.length > 1) await this.store.batchPut(items);
  }

  /** Every point of a metric, ordered by step, timestamp, value. */
  async read(runId: string, key: string): Promise<HistoryPoint[]> {
    const items = await this.store.queryAll({ pk: historyPk(runId, key), prefix: "C#" });
    const points: HistoryPoint[] = [];
    for (const it of items) for (const p of it.points as HistoryPoint[]) points.push(p);
    return points.sort(comparePoints);
  }
}
