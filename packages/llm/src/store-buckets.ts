import type { Clock } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import { LlmError } from "./errors";

const PK = "llm#bucket";
export const WINDOW_MS = 60_000;

/** What a draw on the shared bucket gave: `granted` units (0 when refused) and the bucket after it. */
export interface StoreDraw {
  granted: number;
  /** Units left in the shared bucket after the draw. */
  remaining: number;
  /** When refused: ms until `min` units are free. */
  waitMs: number;
  /** The bucket's theoretical arrival time as last seen (for refusing locally). */
  tat: number;
}

/**
 * Token buckets in the metadata store that hold across processes (Lambda instances): each is
 * a GCRA "theoretical arrival time" (`tat`), equivalent to a token bucket of `limit` tokens
 * refilled continuously over a minute. Every draw is ONE conditional write, so concurrent
 * callers can never both take the last tokens:
 * - the bucket is partly drawn (`now < tat <= now + window - n*T`): ADD n*T to tat;
 * - the bucket is full (`tat <= now` or absent): SET tat = now + n*T;
 * - neither holds: re-read; when fewer than `min` units are free it is refused (the caller
 *   waits `tat - (now + window - min*T)`), else it asks for what is free and tries again.
 */
export class StoreBuckets {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
  ) {}

  /** Takes between `min` and `want` units (`want <= limit`) of a bucket, or none. */
  async draw(id: string, limit: number, want: number, min: number): Promise<StoreDraw> {
    const T = WINDOW_MS / limit;
    const key = { pk: PK, sk: id };
    let n = Math.min(want, limit);
    for (let attempt = 0; attempt < 20; attempt++) {
      const now = this.clock.now();
      const inc = n * T;
      const done = (tat: number): StoreDraw => ({
        granted: n,
        remaining: Math.floor((now + WINDOW_MS - tat) / T),
        waitMs: 0,
        tat,
      });
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
        return done(item.tat as number);
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
        return done(now + inc);
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
      }
      const tat = (await this.store.get(key))?.tat as number | undefined;
      if (tat === undefined || tat <= now) continue;
      const free = Math.floor((now + WINDOW_MS - tat) / T);
      if (free < min)
        return { granted: 0, remaining: Math.max(0, free), waitMs: tat - (now + WINDOW_MS - min * T), tat };
      n = Math.min(n, free);
    }
    throw new LlmError(
      "unavailable",
      `rate limit bucket ${id} is too contended; try again`,
      "limiter_contention",
    );
  }

  /** Adds units without refusing (completion tokens learnt after the answer); negative gives back. */
  async charge(id: string, limit: number, units: number): Promise<void> {
    if (units === 0) return;
    const T = WINDOW_MS / limit;
    const key = { pk: PK, sk: id };
    const now = this.clock.now();
    try {
      await this.store.update(key, { add: [["tat", units * T]] }, { condition: { path: "tat", gt: now } });
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      // The bucket is full (or absent): a give-back has nothing to return to.
      if (units < 0) return;
      await this.store
        .update(
          key,
          { set: [["tat", now + units * T]] },
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
}
