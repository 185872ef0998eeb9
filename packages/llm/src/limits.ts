import type { Clock } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import { LlmError } from "./errors";

const PK = "llm#bucket";
const WINDOW_MS = 60_000;

/** One bucket to draw from: `limit` units per minute (requests or tokens), `cost` units now. */
export interface BucketDraw {
  /** e.g. `key:<id>:rpm`, `team:<t>:tpm`, `model:<m>:rpm`. */
  id: string;
  kind: "requests" | "tokens";
  limit: number;
  cost: number;
}

export interface BucketState {
  kind: "requests" | "tokens";
  limit: number;
  remaining: number;
  resetMs: number;
}

/**
 * Token buckets in the metadata store that hold across processes (Lambda instances): each is
 * a GCRA "theoretical arrival time" (`tat`), equivalent to a token bucket of `limit` tokens
 * refilled continuously over a minute. Every draw is ONE conditional write, so concurrent
 * callers can never both take the last tokens:
 * - the bucket is partly drawn (`now < tat <= now + window - cost*T`): ADD cost*T to tat;
 * - the bucket is full (`tat <= now` or absent): SET tat = now + cost*T;
 * - neither holds: re-read; refused when `tat > now + window - cost*T` (the caller waits
 *   `tat - (now + window - cost*T)`), else the bucket changed state meanwhile: try again.
 * A draw larger than the whole bucket is refused outright.
 */
export class RateLimiter {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
  ) {}

  /** Draws from every bucket at once; throws 429 with Retry-After and x-ratelimit-* headers. */
  async admit(draws: BucketDraw[]): Promise<BucketState[]> {
    const live = draws.filter((d) => d.cost > 0);
    const states = await Promise.all(live.map((d) => this.draw(d)));
    const refused = states.findIndex((s) => s.remaining < 0);
    if (refused < 0) return states;
    const d = live[refused];
    const state = states[refused];
    const retryAfter = Math.max(1, Math.ceil(state.resetMs / 1000));
    throw new LlmError(
      "rate_limited",
      `Rate limit reached for ${d.id.replace(/:(rpm|tpm)$/, "")}: ${d.limit} ${d.kind} per minute` +
        (d.cost > d.limit ? ` (this request needs ${d.cost})` : "") +
        `. Please try again in ${retryAfter}s.`,
      d.kind === "requests" ? "rate_limit_exceeded" : "tokens_rate_limit_exceeded",
      null,
      {
        "retry-after": String(retryAfter),
        ...rateLimitHeaders(states.map((s) => ({ ...s, remaining: Math.max(0, s.remaining) }))),
      },
    );
  }

  /** Adds tokens learnt after the answer (completion tokens) without refusing anything. */
  async charge(d: BucketDraw): Promise<void> {
    if (d.cost <= 0) return;
    const T = WINDOW_MS / d.limit;
    const key = { pk: PK, sk: d.id };
    const now = this.clock.now();
    try {
      await this.store.update(key, { add: [["tat", d.cost * T]] }, { condition: { path: "tat", gt: now } });
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      await this.store
        .update(
          key,
          { set: [["tat", now + d.cost * T]] },
          {
            condition: {
              or: [
                { path: "tat", exists: false },
                { path: "tat", le: now },
              ],
            },
          },
        )
        .catch((e2) => {
          if (!isConditionFailed(e2)) throw e2;
        });
    }
  }

  private async draw(d: BucketDraw): Promise<BucketState> {
    const T = WINDOW_MS / d.limit;
    const inc = d.cost * T;
    const key = { pk: PK, sk: d.id };
    const state = (tat: number, now: number): BucketState => ({
      kind: d.kind,
      limit: d.limit,
      remaining: Math.floor((now + WINDOW_MS - tat) / T),
      resetMs: Math.max(0, tat - now),
    });
    if (d.cost > d.limit) return { kind: d.kind, limit: d.limit, remaining: -1, resetMs: WINDOW_MS };
    for (let attempt = 0; attempt < 20; attempt++) {
      const now = this.clock.now();
      try {
        const item = await this.store.update(
          key,
          { add: [["tat", inc]] },
          {
            condition: {
              and: [
                { path: "tat", gt: now },
                { path: "tat", le: now + WINDOW_MS - inc },
              ],
            },
          },
        );
        return state(item.tat as number, now);
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
      }
      try {
        await this.store.update(
          key,
          { set: [["tat", now + inc]] },
          {
            condition: {
              or: [
                { path: "tat", exists: false },
                { path: "tat", le: now },
              ],
            },
          },
        );
        return state(now + inc, now);
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
      }
      const tat = (await this.store.get(key))?.tat as number | undefined;
      if (tat !== undefined && tat > now + WINDOW_MS - inc)
        return { kind: d.kind, limit: d.limit, remaining: -1, resetMs: tat - (now + WINDOW_MS - inc) };
    }
    throw new LlmError(
      "unavailable",
      `rate limit bucket ${d.id} is too contended; try again`,
      "limiter_contention",
    );
  }
}

/** OpenAI's x-ratelimit-* headers from the tightest bucket of each kind. */
export function rateLimitHeaders(states: BucketState[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of ["requests", "tokens"] as const) {
    const of = states.filter((s) => s.kind === kind);
    if (!of.length) continue;
    const tightest = of.reduce((a, b) => (b.remaining / b.limit < a.remaining / a.limit ? b : a));
    out[`x-ratelimit-limit-${kind}`] = String(tightest.limit);
    out[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, tightest.remaining));
    out[`x-ratelimit-reset-${kind}`] = `${(tightest.resetMs / 1000).toFixed(3)}s`;
  }
  return out;
}
