import type { Clock, Logger } from "@keel/core";
import { nextFireTime } from "./cron";
import type { PipelineService } from "./service";

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** setTimeout cannot wait longer than ~24.8 days; longer waits re-arm. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Fires pipeline schedules in `keel dev` (EventBridge Scheduler does it in AWS). Each
 * scheduled pipeline has one timer armed for its next fire time; a fire starts a run with
 * the fire date as `ds` (trigger "schedule") and arms the next one. Missed fires while the
 * process was down are not replayed: use a backfill for those.
 */
export class LocalScheduler {
  private readonly armed = new Map<string, { cron: string; handle: unknown; at: number }>();
  private running = false;

  constructor(
    private readonly service: PipelineService,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly timers: Timers = realTimers,
  ) {}

  start(): void {
    this.running = true;
    this.sync();
  }

  /** Arms newly registered schedules and disarms removed or changed ones. */
  sync(): void {
    if (!this.running) return;
    const wanted = new Map(
      this.service
        .list()
        .filter((p) => p.def.schedule?.enabled)
        .map((p) => [p.def.name, p.def.schedule!.cron] as const),
    );
    for (const [name, a] of this.armed) {
      if (wanted.get(name) !== a.cron) {
        this.timers.clear(a.handle);
        this.armed.delete(name);
      }
    }
    for (const [name, cron] of wanted)
      if (!this.armed.has(name)) this.arm(name, cron, nextFireTime(cron, this.clock.now()));
  }

  /** When each scheduled pipeline fires next (ms since epoch). */
  nextFires(): Record<string, number> {
    return Object.fromEntries([...this.armed].map(([n, a]) => [n, a.at]));
  }

  private arm(name: string, cron: string, at: number): void {
    const delay = Math.min(Math.max(at - this.clock.now(), 0), MAX_DELAY);
    const handle = this.timers.set(() => void this.fire(name, cron, at), delay);
    this.armed.set(name, { cron, handle, at });
  }

  private async fire(name: string, cron: string, at: number): Promise<void> {
    if (!this.running || this.armed.get(name)?.at !== at) return;
    if (this.clock.now() < at) {
      this.arm(name, cron, at);
      return;
    }
    this.arm(name, cron, nextFireTime(cron, at));
    const schedule = this.service.get(name).def.schedule;
    const ds = new Date(at).toISOString().slice(0, 10);
    try {
      // One id per pipeline and fire time: two processes firing the same schedule start one run.
      const runId = `sched-${new Date(at).toISOString().slice(0, 16).replace(/[-:]/g, "")}-${name}`;
      const run = await this.service.startRun(name, {
        runId,
        params: { ...schedule?.params, ds },
        trigger: "schedule",
      });
      this.log.info("scheduled pipeline run started", { pipeline: name, runId: run.runId, ds });
    } catch (e) {
      this.log.error("scheduled pipeline run failed to start", { pipeline: name, err: (e as Error).message });
    }
  }

  stop(): void {
    this.running = false;
    for (const a of this.armed.values()) this.timers.clear(a.handle);
    this.armed.clear();
  }
}
