import type { UsageRecord, UsageSummaryRow } from "@keel/contract";
import { type Clock, type Logger, newToken, pad } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";

export interface UsageQuery {
  team?: string;
  from?: number;
  to?: number;
  limit?: number;
}

export type { UsageRecord, UsageSummaryRow };

const ZERO = {
  requests: 0,
  errors: 0,
  cacheHits: 0,
  tokensIn: 0,
  tokensOut: 0,
  cost: 0,
  avgLatencyMs: 0,
  ttftN: 0,
  ttftSum: 0,
  latSum: 0,
};

/**
 * The usage log: one item per request under the team's partition (time-ordered) and in an
 * index across teams. Written off the request path; `flush()` waits for what is in flight
 * (readers call it, so a process reads its own writes).
 */
export class UsageLog {
  private readonly pending = new Set<Promise<void>>();
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log?: Logger,
  ) {}

  record(r: Omit<UsageRecord, "id" | "time">): UsageRecord {
    const time = this.clock.now();
    const rec: UsageRecord = { ...r, id: newToken(9), time };
    const sk = `${pad(time, 15)}#${rec.id}`;
    const p = this.store
      .put({ pk: `llm#usage#${rec.team}`, sk, gsi1pk: "llm#usage", gsi1sk: sk, usage: rec })
      .catch((e) => this.log?.warn?.("llm usage write failed", { error: String(e) }))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
    return rec;
  }

  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  async query(q: UsageQuery): Promise<UsageRecord[]> {
    await this.flush();
    const between: [string, string] = [pad(q.from ?? 0, 15), `${pad(q.to ?? 999_999_999_999_999, 15)}~`];
    const limit = Math.min(q.limit ?? 1000, 10_000);
    const items = q.team
      ? await this.store.queryAll({ pk: `llm#usage#${q.team}`, between, descending: true, limit })
      : await this.store.queryAll({ pk: "llm#usage", index: "gsi1", between, descending: true, limit });
    return items.slice(0, limit).map((i) => i.usage as UsageRecord);
  }

  async summary(q: UsageQuery): Promise<UsageSummaryRow[]> {
    const rows = new Map<string, UsageSummaryRow & { ttftN: number; ttftSum: number; latSum: number }>();
    for (const r of await this.query({ ...q, limit: 10_000 })) {
      const k = `${r.team}\u0000${r.model}`;
      let row = rows.get(k);
      if (!row) {
        row = { team: r.team, model: r.model, ...ZERO };
        rows.set(k, row);
      }
      row.requests++;
      if (r.status >= 400) row.errors++;
      if (r.cacheHit) row.cacheHits++;
      row.tokensIn += r.tokensIn;
      row.tokensOut += r.tokensOut;
      row.cost += r.cost;
      row.latSum += r.latencyMs;
      if (r.ttftMs !== undefined) {
        row.ttftN++;
        row.ttftSum += r.ttftMs;
      }
    }
    return [...rows.values()].map(({ ttftN, ttftSum, latSum, ...row }) => ({
      ...row,
      cost: Math.round(row.cost * 1e8) / 1e8,
      avgLatencyMs: row.requests ? latSum / row.requests : 0,
      ...(ttftN ? { avgTtftMs: ttftSum / ttftN } : {}),
    }));
  }
}
