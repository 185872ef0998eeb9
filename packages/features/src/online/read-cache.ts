import type { OnlineRecord, OnlineStore, OnlineViewInfo, OnlineWrite, OnlineWriteResult } from "./port";

/** Default bound of the read-through cache: entries (one per view and entity key, absent ones too). */
export const READ_CACHE_ENTRIES = 100_000;

/**
 * A bounded LRU read-through cache in front of an OnlineStore, for a store that only this
 * process writes (`keel dev`: dynalite on the data dir). Every write (materialize, push) goes
 * through `write`, which drops the keys it touches before and after the store call and moves
 * the view's generation; a read fills the cache only when its view's generation did not move
 * while it read, so a read that raced a write never caches the value the write replaced.
 * Absent keys are cached too (a write drops them). Age is judged by callers from `eventTs`,
 * so a cached record past its ttl is reported as such, exactly as the store's record would be.
 */
export class CachedOnlineStore implements OnlineStore {
  private readonly entries = new Map<string, OnlineRecord | undefined>();
  private readonly generation = new Map<string, number>();

  constructor(
    readonly inner: OnlineStore,
    private readonly maxEntries = READ_CACHE_ENTRIES,
  ) {}

  ensureSchema(): Promise<void> {
    return this.inner.ensureSchema();
  }

  async write(view: OnlineViewInfo, rows: OnlineWrite[], nowMs: number): Promise<OnlineWriteResult> {
    this.invalidate(view.name, rows);
    try {
      return await this.inner.write(view, rows, nowMs);
    } finally {
      this.invalidate(view.name, rows);
    }
  }

  async read(view: string, entityKeys: string[]): Promise<Array<OnlineRecord | undefined>> {
    const out = new Array<OnlineRecord | undefined>(entityKeys.length);
    const missing: number[] = [];
    for (let i = 0; i < entityKeys.length; i++) {
      const key = cacheKey(view, entityKeys[i]);
      if (this.entries.has(key)) {
        const rec = this.entries.get(key);
        // Most recently used last: re-insert.
        this.entries.delete(key);
        this.entries.set(key, rec);
        out[i] = rec;
      } else missing.push(i);
    }
    if (missing.length === 0) return out;
    const gen = this.generation.get(view) ?? 0;
    const fetched = await this.inner.read(
      view,
      missing.map((i) => entityKeys[i]),
    );
    const fill = (this.generation.get(view) ?? 0) === gen;
    missing.forEach((i, j) => {
      out[i] = fetched[j];
      if (fill) this.remember(cacheKey(view, entityKeys[i]), fetched[j]);
    });
    return out;
  }

  close(): Promise<void> {
    this.entries.clear();
    return this.inner.close();
  }

  /** Cached entries (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private remember(key: string, rec: OnlineRecord | undefined): void {
    this.entries.delete(key);
    this.entries.set(key, rec);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  private invalidate(view: string, rows: OnlineWrite[]): void {
    this.generation.set(view, (this.generation.get(view) ?? 0) + 1);
    for (const r of rows) this.entries.delete(cacheKey(view, r.entityKey));
  }
}

const cacheKey = (view: string, entityKey: string) => `${view}\u0000${entityKey}`;
