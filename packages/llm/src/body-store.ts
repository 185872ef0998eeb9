import type { AuditLog } from "@keel/audit";
import { type Clock, currentPrincipal, hasRole, type Logger, newToken, pad } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { BatchedPuts } from "./batched-puts";
import { LlmError } from "./errors";
import type { Teams } from "./teams";

/** One stored request/answer pair, both already redacted by the route's PII detectors. */
export interface StoredBody {
  id: string;
  time: number;
  team: string;
  principal: string;
  key?: string;
  model: string;
  status: number;
  /** The request as sent (messages or input), redacted. */
  request: unknown;
  /** The answer's text, redacted; absent when the call failed. */
  response?: string;
  /** When the purge deletes it (ms since the epoch); reads never return it after that. */
  expiresAt: number;
}

const pk = (team: string) => `llm#bodies#${team}`;
const EXPIRY = "llm#bodies#expiry";
const DAY_MS = 86_400_000;

/**
 * Prompt and response bodies, kept only for routes that enable it (`store.prompts`), always
 * redacted (whatever the route's guardrail mode), for `retentionDays`. Readable only by the
 * team's owners and platform admins, and every read is an audit event. Writes are batched off
 * the request's path; `purge()` deletes what expired (at start and on a timer locally, on a
 * schedule in AWS), and reads filter expiry too, so an entry is unreadable from the moment
 * it expires.
 */
export class BodyStore {
  private readonly puts: BatchedPuts;

  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly teams: Teams,
    log?: Logger,
  ) {
    this.puts = new BatchedPuts(
      store,
      { batchSize: 25, maxAgeMs: 200, maxBuffered: 5_000, what: "llm body store" },
      log,
    );
  }

  save(b: Omit<StoredBody, "id" | "time" | "expiresAt">, retentionDays: number): void {
    const time = this.clock.now();
    const rec: StoredBody = { ...b, id: newToken(12), time, expiresAt: time + retentionDays * DAY_MS };
    const sk = `${pad(time, 15)}#${rec.id}`;
    this.puts.add({
      pk: pk(b.team),
      sk,
      gsi1pk: EXPIRY,
      gsi1sk: `${pad(rec.expiresAt, 15)}#${b.team}#${rec.id}`,
      body: rec,
    });
  }

  flush(): Promise<void> {
    return this.puts.flush();
  }

  /** The team's owners and platform admins only; anyone else is refused (403). */
  private async checkReader(team: string): Promise<void> {
    if (hasRole("admin")) return;
    const settings = await this.teams.get(team);
    const principal = currentPrincipal();
    if (settings?.owners?.some((o) => o.toLowerCase() === principal.toLowerCase())) return;
    throw new LlmError(
      "denied",
      `${principal} may not read team ${team}'s stored prompts: only the team's owners and admins may`,
    );
  }

  /** The team's stored bodies, newest first (audited read). */
  async list(team: string, q: { from?: number; to?: number; limit?: number } = {}): Promise<StoredBody[]> {
    await this.checkReader(team);
    await this.flush();
    const now = this.clock.now();
    const limit = Math.min(q.limit ?? 100, 1000);
    const items = await this.store.queryAll({
      pk: pk(team),
      between: [pad(q.from ?? 0, 15), `${pad(q.to ?? 999_999_999_999_999, 15)}~`],
      descending: true,
      limit,
    });
    const bodies = items
      .map((i) => i.body as StoredBody)
      .filter((b) => b.expiresAt > now)
      .slice(0, limit);
    await this.audit.append({
      action: "llm.bodies.read",
      resource: `llm-team:${team}`,
      state: { ids: bodies.map((b) => b.id), from: q.from, to: q.to },
    });
    return bodies;
  }

  /** Deletes every entry whose retention ended; returns how many. */
  async purge(): Promise<number> {
    await this.flush();
    const expired = await this.store.queryAll({
      pk: EXPIRY,
      index: "gsi1",
      between: [pad(0, 15), `${pad(this.clock.now(), 15)}~`],
    });
    const keys = expired.map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
    if (keys.length) await this.store.batchDelete(keys);
    return keys.length;
  }
}
