/**
 * A least-recently-used map with a size limit and, optionally, a lifetime per entry: what every
 * in-memory cache on a request path uses, so no cache grows with the number of distinct keys
 * callers send (deployment names, request ids, entities). `get` refreshes an entry's place in
 * the eviction order (not its lifetime); `set` evicts the least recently used entry beyond
 * `maxEntries`; an entry older than `ttlMs` is a miss and is removed when met.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; at: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: { maxEntries: number; ttlMs?: number; now?: () => number }) {
    if (!(opts.maxEntries >= 1)) throw new RangeError("BoundedCache needs maxEntries >= 1");
    this.maxEntries = opts.maxEntries;
    this.ttlMs = opts.ttlMs ?? Number.POSITIVE_INFINITY;
    this.now = opts.now ?? Date.now;
  }

  get(key: K): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (this.now() - hit.at >= this.ttlMs) return undefined;
    this.entries.set(key, hit);
    return hit.value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): this {
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.now() });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
    return this;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
