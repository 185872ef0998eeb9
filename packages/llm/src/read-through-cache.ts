/**
 * Reads of one kind of store item (keys, teams, routes), cached per process. An entry older
 * than half of `ttlMs` is still answered at once while ONE background
 * read refreshes it (refresh ahead), so an entry in use is renewed before it expires and no
 * request waits on the store for it (under 64 callers those waits were the gateway's p99).
 * Past `ttlMs` an entry is stale: answered at once while the read runs (stale while revalidate)
 * until `maxStaleMs` (default 5 x ttlMs: an idle process), after which callers wait for the
 * read; with `maxStaleMs: ttlMs` (keys) no entry is ever answered past ttlMs. However many
 * callers miss at once, one read per key is in flight; `set` (this process's own write)
 * replaces a read in flight, whose older answer is then not cached.
 */
export class ReadThroughCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  private readonly reading = new Map<string, Promise<V>>();
  /** When a key's last read failed: a background refresh waits a quarter of the ttl after one. */
  private readonly failedAt = new Map<string, number>();

  constructor(
    private readonly load: (key: string) => Promise<V>,
    private readonly opts: {
      ttlMs: number;
      now: () => number;
      maxEntries?: number;
      maxStaleMs?: number;
    },
  ) {}

  get(key: string): Promise<V> {
    const e = this.peek(key);
    return e ? Promise.resolve(e.value) : this.read(key);
  }

  /**
   * The cached entry when a caller may use it at once (fresh, or stale within `maxStaleMs`; past
   * half the ttl it starts the one background refresh, as `get`); undefined when the caller
   * must wait for `get`.
   * The request path uses it to stay synchronous on hits (no promise per lookup).
   */
  peek(key: string): { value: V } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const age = this.opts.now() - e.at;
    if (age * 2 <= this.opts.ttlMs) return e;
    if (age > Math.max(this.opts.ttlMs, this.opts.maxStaleMs ?? 5 * this.opts.ttlMs)) return undefined;
    // A failed refresh keeps the entry; a failing store is not asked again by every request.
    const failed = this.failedAt.get(key);
    if ((failed === undefined || this.opts.now() - failed >= this.opts.ttlMs / 4) && !this.reading.has(key))
      // Read once the current request's own work is done (with the local SQLite store a read
      // runs synchronously, and it is not that request's time).
      this.read(key, true).catch(() => undefined);
    return e;
  }

  /** This process's own write: seen at once, and no read in flight overwrites it. */
  set(key: string, value: V): void {
    this.reading.delete(key);
    this.put(key, value);
  }

  private read(key: string, later = false): Promise<V> {
    const inFlight = this.reading.get(key);
    if (inFlight) return inFlight;
    // An entry is as old as the read that fetched it began: its value may predate the answer.
    let at = this.opts.now();
    const loaded = later
      ? new Promise<void>((r) => setImmediate(r)).then(() => {
          at = this.opts.now();
          return this.load(key);
        })
      : this.load(key);
    const p: Promise<V> = loaded.then(
      (value) => {
        this.failedAt.delete(key);
        if (this.reading.get(key) === p) {
          this.reading.delete(key);
          this.put(key, value, at);
        }
        return value;
      },
      (e) => {
        if (this.failedAt.size >= (this.opts.maxEntries ?? 10_000)) this.failedAt.clear();
        this.failedAt.set(key, this.opts.now());
        if (this.reading.get(key) === p) this.reading.delete(key);
        throw e;
      },
    );
    this.reading.set(key, p);
    return p;
  }

  private put(key: string, value: V, at = this.opts.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at });
    if (this.entries.size > (this.opts.maxEntries ?? 10_000))
      this.entries.delete(this.entries.keys().next().value as string);
  }
}
