import type { Worker } from "node:worker_threads";

/**
 * A bounded pool of worker threads: at most `max` exist at once, idle ones are reused (they keep
 * what they cached, e.g. a training set), a crashed one is discarded and replaced on demand.
 * Idle workers do not keep the process alive.
 */
export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly waiters: Array<{ resolve: (w: Worker) => void; reject: (e: Error) => void }> = [];
  private live = 0;
  private closed = false;

  constructor(
    private readonly create: () => Worker,
    readonly max: number,
  ) {}

  /** A worker for one job; waits while `max` are busy. Give it back with release or discard. */
  acquire(): Promise<Worker> {
    if (this.closed) return Promise.reject(new Error("worker pool closed"));
    const w = this.idle.pop();
    if (w) return Promise.resolve(this.busy(w));
    if (this.live < this.max) return Promise.resolve(this.spawn());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(w: Worker): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(w);
    else if (this.closed) void w.terminate();
    else {
      w.unref();
      this.idle.push(w);
    }
  }

  /** Ends a worker that crashed or whose job was abandoned, and lets a waiter have a fresh one. */
  discard(w: Worker): void {
    this.live--;
    void w.terminate();
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(this.spawn());
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error("worker pool closed"));
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }

  private spawn(): Worker {
    this.live++;
    const w = this.create();
    // A job listens for its worker's errors itself; an idle worker that dies is just dropped.
    w.on("error", () => undefined);
    w.once("exit", () => {
      const i = this.idle.indexOf(w);
      if (i < 0) return;
      this.idle.splice(i, 1);
      this.live--;
    });
    return w;
  }

  private busy(w: Worker): Worker {
    w.ref();
    return w;
  }
}
