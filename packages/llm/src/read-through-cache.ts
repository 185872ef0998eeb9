/**
 * Reads of one kind of store item (keys, teams, routes), cached per process. A value is fresh
 * for `ttlMs`; after that the next callers still get it at once while ONE background read
 * refreshes it (stale while revalidate), so no request waits on the store because an entry
 * expired (under 64 callers those waits were the gateway's p99). Past `maxStaleMs` (default
 * 5 x ttlMs: an idle process) callers wait for the read. However many callers miss at once, one
 * read per key is in flight; `set` (this process's own write) replaces a read in flight, whose
 * older answer is then not cached.
 */
export class ReadThroughCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  private readonly reading = new Map<string, Promise<V>>();

  constructor(
    private readonly load: (key: string) => Promise<V>,
    private readonly opts: { ttlMs: number; now: () => number; maxEntries?: number; maxStaleMs?: number },
  ) {}

  get(key: string): Promise<V> {
    const e = this.peek(key);
    return e ? Promise.resolve(e.value) : this.read(key);
  }

  /**
   * The cached entry when a caller may use it at once (fresh, or stale within `maxStaleMs`, which
   * starts the one background refresh, as `get`); undefined when the caller must wait for `get`.
   * The request path uses it to stay synchronous on hits (no promise per lookup).
   */
  peek(key: string): { value: V } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const age = this.opts.now() - e.at;
    if (age <= this.opts.ttlMs) return e;
    if (age > (this.opts.maxStaleMs ?? 5 * this.opts.ttlMs)) return undefined;
    this.read(key).catch(() => undefined); // a failed refresh keeps the entry; the next caller tries again
    return e;
  }

  /** This process's own write: seen at once, and no read in flight overwrites it. */
  set(key: string, value: V): void {
    this.reading.delete(key);
    this.put(key, value);
  }

  private read(key: string): Promise<V> {
    const inFlight = this.reading.get(key);
    if (inFlight) return inFlight;
    const p: Promise<V> = this.load(key).then(
      (value) => {
        if (this.reading.get(key) === p) {
          this.reading.delete(key);
          this.put(key, value);
        }
        return value;
      },
      (e) => {
        if (this.reading.get(key) === p) this.reading.delete(key);
        throw e;
      },
    );
    this.reading.set(key, p);
    return p;
  }

  private put(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.opts.now() });
    if (this.entries.size > (this.opts.maxEntries ?? 10_000))
      this.entries.delete(this.entries.keys().next().value as string);
  }
}
