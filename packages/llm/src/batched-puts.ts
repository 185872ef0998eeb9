import type { Logger } from "@keel/core";
import type { Item, MetadataStore } from "@keel/metadata";

export interface BatchedPutsOptions {
  /** Items written per batch (a write starts as soon as this many wait). */
  batchSize: number;
  /** The oldest waiting item is written within this long. */
  maxAgeMs: number;
  /** Items held at most; past it the oldest are dropped (and counted) rather than growing. */
  maxBuffered: number;
  /** Names the buffer in log lines ("llm usage"). */
  what: string;
}

/**
 * Store writes taken off a request's path: items wait in a bounded buffer and are written in
 * batches by size and age; `flush()` writes what waits and waits for every write in flight.
 * A failed batch is logged, never thrown at a caller.
 */
export class BatchedPuts {
  private buffer: Item[] = [];
  private readonly writing = new Set<Promise<void>>();
  private timer?: ReturnType<typeof setTimeout>;
  private soon?: ReturnType<typeof setImmediate>;
  /** Items dropped because the buffer was full (the store could not keep up). */
  dropped = 0;

  constructor(
    private readonly store: MetadataStore,
    private readonly opts: BatchedPutsOptions,
    private readonly log?: Logger,
  ) {}

  add(item: Item): void {
    if (this.buffer.length >= this.opts.maxBuffered) {
      this.buffer.shift();
      if (this.dropped++ % 1000 === 0)
        this.log?.warn?.(`${this.opts.what} buffer full: dropping the oldest items`, {
          dropped: this.dropped,
        });
    }
    this.buffer.push(item);
    // A full batch is written once the current request's own work is done (next check phase):
    // with the local SQLite store a write runs synchronously, and it is not that request's time.
    if (this.buffer.length >= this.opts.batchSize) this.soon ??= setImmediate(() => this.write());
    else if (!this.timer) {
      this.timer = setTimeout(() => this.write(), this.opts.maxAgeMs);
      this.timer.unref?.();
    }
  }

  async flush(): Promise<void> {
    this.write();
    while (this.writing.size) await Promise.all([...this.writing]);
  }

  private write(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.soon) clearImmediate(this.soon);
    this.soon = undefined;
    if (!this.buffer.length) return;
    const items = this.buffer;
    this.buffer = [];
    const p: Promise<void> = this.store
      .batchPut(items)
      .catch((e) =>
        this.log?.warn?.(`${this.opts.what} write failed`, { error: String(e), items: items.length }),
      )
      .finally(() => this.writing.delete(p));
    this.writing.add(p);
  }
}
