import { availableParallelism } from "node:os";
import type { LagSource } from "./overload";

/**
 * Admission per route class, with a bounded wait queue per class and a sojourn-time target
 * (CoDel-like), so one kind of request cannot grow a queue that every other kind waits behind.
 *
 * Each class (inference, read, write, llm) runs at most `limit` requests at once. One more waits
 * in the class's FIFO queue (at most `queue` of them) for a place; the time it waited there
 * (its sojourn) is measured when it gets one. A queue that drains is fine (a burst); a standing
 * queue is not: once every request taken from the queue for `intervalMs` waited longer than
 * `targetMs` (or the request at the head has waited `targetMs + intervalMs`), the class refuses
 * new arrivals at once until a request gets a place within the target again or the queue
 * empties. A full queue also refuses at once. The decision reads counters only: no timer, no
 * await, nothing allocated on the refusal path; the clock is injected (deterministic tests).
 */
export type RouteClass = "inference" | "read" | "write" | "llm";
export const ROUTE_CLASSES: readonly RouteClass[] = ["inference", "read", "write", "llm"];

export interface ClassLimit {
  /** Requests of the class that run at once. */
  limit: number;
  /** Requests of the class that may wait for a place (0 = none wait: refused once `limit` run). */
  queue: number;
}

export interface ClassAdmissionOptions {
  limits: Record<RouteClass, ClassLimit>;
  /**
   * The event loop's delay, read as the sojourn of the queue no class sees: requests the loop
   * has not read yet (a store or handler that works synchronously, such as SQLite, keeps the
   * in-app counts low while callers wait in their sockets). Absent: not watched.
   */
  loop?: LagSource;
  /** How often (ms) the loop's delay is read (its minimum over the window is the standing delay). */
  loopWindowMs?: number;
  /** The loop's standing delay (ms) above which arrivals are refused (default `targetMs`). */
  loopTargetMs?: number;
  /** Sojourn time in the queue above which waiting counts as a standing queue (ms). */
  targetMs: number;
  /** How long the sojourn must stay above the target before arrivals are refused (ms). */
  intervalMs?: number;
  now?: () => number;
}

/** What `admit` answers: run now, wait for the returned promise, or refused. */
export type Admission = "run" | "refused" | Promise<void>;

interface Waiter {
  at: number;
  resolve: () => void;
}

/** One class's places, queue and CoDel state. */
class ClassGate {
  running = 0;
  refused = 0;
  private readonly waiting: Waiter[] = [];
  private head = 0;
  /** When the sojourn first went above target (plus the interval); 0 = not above. */
  private aboveUntil = 0;
  private dropping = false;

  constructor(
    readonly limit: ClassLimit,
    private readonly targetMs: number,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  get queued(): number {
    return this.waiting.length - this.head;
  }

  admit(): Admission {
    const queued = this.queued;
    if (this.running < this.limit.limit && queued === 0) {
      this.running++;
      return "run";
    }
    if (this.dropping || queued >= this.limit.queue || this.headTooOld(queued)) {
      this.refused++;
      return "refused";
    }
    return new Promise<void>((resolve) => {
      this.waiting.push({ at: this.now(), resolve });
    });
  }

  /** Frees a place: the head of the queue takes it (its sojourn updates the CoDel state). */
  release(): void {
    if (this.queued === 0) {
      this.running--;
      this.aboveUntil = 0;
      this.dropping = false;
      return;
    }
    const w = this.waiting[this.head];
    this.waiting[this.head++] = undefined as unknown as Waiter;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    const t = this.now();
    const sojourn = t - w.at;
    if (sojourn < this.targetMs || this.queued === 0) {
      this.aboveUntil = 0;
      this.dropping = false;
    } else if (this.aboveUntil === 0) this.aboveUntil = t + this.intervalMs;
    else if (t >= this.aboveUntil) this.dropping = true;
    // The place passes to the waiter: `running` stays the same.
    w.resolve();
  }

  private headTooOld(queued: number): boolean {
    return queued > 0 && this.now() - this.waiting[this.head].at > this.targetMs + this.intervalMs;
  }
}

/**
 * The event loop's standing delay, CoDel-like: over each window the smallest delay any sample
 * saw. A burst or one long synchronous task leaves some samples on time (the minimum stays low);
 * a loop that is behind for the whole window is a standing queue in front of every request.
 * Refusing starts when the minimum is above the target and stops at the first window below it.
 * Read lazily on arrivals (no timer).
 */
class LoopGate {
  private standing = false;
  private since: number;

  constructor(
    private readonly lag: LagSource,
    private readonly targetMs: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {
    this.since = now();
  }

  refusing(): boolean {
    const t = this.now();
    if (t - this.since >= this.windowMs) {
      const min = this.lag.minMs?.();
      this.lag.reset();
      this.since = t;
      this.standing = min !== undefined && min > this.targetMs;
    }
    return this.standing;
  }
}

export class ClassAdmission {
  private readonly gates: Record<RouteClass, ClassGate>;
  private readonly loop?: LoopGate;
  loopRefused = 0;

  constructor(opts: ClassAdmissionOptions) {
    const now = opts.now ?? (() => performance.now());
    const interval = opts.intervalMs ?? 100;
    if (opts.loop)
      this.loop = new LoopGate(opts.loop, opts.loopTargetMs ?? opts.targetMs, opts.loopWindowMs ?? 250, now);
    this.gates = {
      inference: new ClassGate(opts.limits.inference, opts.targetMs, interval, now),
      read: new ClassGate(opts.limits.read, opts.targetMs, interval, now),
      write: new ClassGate(opts.limits.write, opts.targetMs, interval, now),
      llm: new ClassGate(opts.limits.llm, opts.targetMs, interval, now),
    };
  }

  /** "run" (the caller must `release`), "refused", or a promise resolved when a place is free (then `release` too). */
  admit(cls: RouteClass): Admission {
    if (this.loop?.refusing()) {
      this.loopRefused++;
      return "refused";
    }
    return this.gates[cls].admit();
  }

  release(cls: RouteClass): void {
    this.gates[cls].release();
  }

  state(cls: RouteClass): { running: number; queued: number; refused: number; limit: ClassLimit } {
    const g = this.gates[cls];
    return { running: g.running, queued: g.queued, refused: g.refused, limit: g.limit };
  }
}

const INFER = /^\/v2\/models\/[^/]+(?:\/versions\/[^/]+)?\/(?:infer|explain)$/;
const READ_POST = /(?:\/search|\/get-online-features|\/get-history(?:-bulk)?|\/query|\/retrieve)$/;

/**
 * The class of a request from its method and path: model inference (the KServe v2 `infer`
 * and `explain` routes), the LLM gateway (`/llm/...`: long upstream calls), reads (GET, HEAD
 * and the POST searches and lookups), and everything else as writes.
 */
export function routeClass(method: string, path: string): RouteClass {
  if (path.charCodeAt(1) === 118 /* v */ && INFER.test(path)) return "inference";
  if (path.startsWith("/llm/")) return "llm";
  if (method === "GET" || method === "HEAD" || READ_POST.test(path)) return "read";
  return "write";
}

/**
 * Parses `KEEL_ADMISSION_LIMITS`: `class=limit[:queue]` pairs separated by commas, over the
 * defaults (a class not named keeps its default; queue defaults to the limit).
 */
export function parseClassLimits(
  text: string | undefined,
  defaults: Record<RouteClass, ClassLimit>,
): Record<RouteClass, ClassLimit> {
  const out = { ...defaults };
  for (const part of (text ?? "").split(",")) {
    const item = part.trim();
    if (!item) continue;
    const m = item.match(/^(inference|read|write|llm)=(\d+)(?::(\d+))?$/);
    if (!m)
      throw new Error(
        `KEEL_ADMISSION_LIMITS: '${item}' is not class=limit[:queue] (classes: ${ROUTE_CLASSES.join(", ")})`,
      );
    const limit = Number(m[2]);
    out[m[1] as RouteClass] = { limit, queue: m[3] === undefined ? limit : Number(m[3]) };
  }
  return out;
}

/**
 * Default places per class, from the cores this process may use: reads and writes share the
 * event loop and the metadata store's one thread, so more than a few per core at once only
 * wait; inference is batched by the model workers (more at once fill batches); LLM calls
 * mostly wait on their upstream. Each queue holds as many as run.
 */
export function defaultClassLimits(cores = availableParallelism()): Record<RouteClass, ClassLimit> {
  const c = Math.max(1, cores);
  const place = (limit: number) => ({ limit, queue: limit });
  return { inference: place(8 * c), read: place(4 * c), write: place(4 * c), llm: place(64) };
}

/** The `classes` options from the http config section (KEEL_ADMISSION_LIMITS, KEEL_ADMISSION_TARGET_MS). */
export function classAdmissionConfig(http: {
  admissionLimits?: string;
  admissionTargetMs?: number;
  admissionLoopTargetMs: number;
}): Omit<ClassAdmissionOptions, "now"> & { watchLoop: boolean } {
  return {
    limits: parseClassLimits(http.admissionLimits, defaultClassLimits()),
    targetMs: http.admissionTargetMs ?? 25,
    loopTargetMs: http.admissionLoopTargetMs,
    watchLoop: http.admissionLoopTargetMs > 0,
  };
}
