import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { errorBody, INTERNAL_CALL_HEADER, RETRY_AFTER_SECONDS } from "@keel/core";
import { NEVER_REFUSED } from "./admission";
import {
  type ClassLimit,
  defaultClassLimits,
  parseClassLimits,
  ROUTE_CLASSES,
  type RouteClass,
  routeClass,
} from "./admission-classes";
import { ShedController, type ShedOptions } from "./admission-shed";

/**
 * `front` admission (`KEEL_ADMISSION=front`, the local server only): decided in node:http's
 * 'request' listener, before Hono builds a web Request or any middleware runs.
 *
 * With `keel dev`'s SQLite store a request's work is synchronous, so when node reads many
 * sockets in one poll it runs each request to the end before reading the next, and the queue
 * forms in the sockets, where the app cannot see it, and refusals wait behind it. Here every
 * request node reads is queued in its route class's FIFO instead, and handed to the app in
 * batches, one batch per turn of the event loop: a turn schedules one setImmediate per request
 * that may run (waiting, with a free place), all run in the same check phase with the handlers'
 * promise and nextTick work drained between them, and the batch stops once `turnBudgetMs` of the
 * loop has gone since it began. Between two batches node polls the sockets again, so arrivals
 * are read (and refused) within about a budget's work, and the queue is in process, where its
 * sojourn is measured. Which request goes next (`order`): by default the oldest waiting one
 * among the classes with a free place, or by each class's measured cost (fair queueing), or
 * classes in turn. Each class runs at most `limit` at once (inference waiting
 * on the model workers holds its places). A refusal is
 * one synchronous write: 503, `Retry-After`, a short JSON error in the route's shape (KServe v2
 * `{error}`, MLflow's `{error_code, message}` otherwise), the connection kept alive and the
 * unread body discarded. What is refused: arrivals of a class whose queue is full, and a share
 * of a class's arrivals set by the shedding controller (admission-shed.ts) from its sojourn.
 * Never refused nor queued: health, readiness, metrics and the platform's own calls.
 */
export interface FrontAdmissionOptions {
  limits: Record<RouteClass, ClassLimit>;
  shed: Omit<ShedOptions, "classState" | "now">;
  /** The platform's own calls carry this token in `x-keel-internal-call` and always pass. */
  internalToken?: string;
  now?: () => number;
  /**
   * Which class's request goes next: `oldest` (the default), the longest-waiting head among the
   * classes with a free place (arrival order across classes, each class shed on its own);
   * `cost`, the class with the least loop time used (start-time fair queueing: each hand-off
   * charges its class the class's measured cost, a moving average of the loop time from a
   * hand-off to the next one in the same batch; work a handler leaves to timers, I/O or worker
   * threads is not counted, so classes that do their work inline look dearer than they are);
   * `classes`, each class in turn (a class of quick requests gets no more turns than one of slow
   * ones).
   */
  order?: "cost" | "oldest" | "classes";
  /** Loop time (ms) a batch of hand-offs may use before node polls the sockets again (default 1). */
  turnBudgetMs?: number;
  /** The most requests handed off in one batch (default 64). */
  maxBatch?: number;
  /** Runs a hand-off in the loop's next check phase; setImmediate by default (tests may step them by hand). */
  schedule?: (turn: () => void) => void;
}

interface Waiting {
  at: number;
  /** Requests of its class waiting ahead of it when it came. */
  ahead: number;
  req: IncomingMessage;
  res: ServerResponse;
  next: RequestListener;
}

/** The weight of a new sample in a class's cost per request (a moving average over ~10 hand-offs). */
const COST_ALPHA = 0.1;

class ClassQueue {
  running = 0;
  refused = 0;
  admitted = 0;
  /** Loop time (ms) a hand-off of this class costs, as measured (1 ms until the first sample). */
  cost = 1;
  private costed = false;
  /** Loop time charged to the class so far (fair queueing's virtual finish time). */
  vtime = 0;
  private items: Waiting[] = [];
  private head = 0;

  constructor(readonly limit: ClassLimit) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(w: Waiting): void {
    this.items.push(w);
  }

  /** One hand-off of this class took `ms` of the loop (its handler's synchronous and promise work). */
  charge(ms: number): void {
    this.cost = this.costed ? this.cost + (ms - this.cost) * COST_ALPHA : ms;
    this.costed = true;
  }

  peek(): Waiting | undefined {
    return this.items[this.head];
  }

  shift(): Waiting {
    const w = this.items[this.head];
    this.items[this.head++] = undefined as unknown as Waiting;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return w;
  }
}

export class FrontAdmission {
  private readonly queues: Record<RouteClass, ClassQueue>;
  private readonly controller: ShedController;
  private readonly now: () => number;
  private readonly schedule: (turn: () => void) => void;
  private scheduled = false;
  private nextClass = 0;
  /** Fair queueing's virtual time: the loop time charged to the class handed off last. */
  private vclock = 0;
  private readonly budget: number;
  private readonly maxBatch: number;
  /** The batch in flight: its slots still to run, when its first ran, and the last hand-off (to charge). */
  private batchLeft = 0;
  private batchStart = -1;
  private last: ClassQueue | undefined;
  private lastAt = 0;
  private readonly bodies: Record<RouteClass, { kserve: Buffer; mlflow: Buffer }>;

  constructor(private readonly opts: FrontAdmissionOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.schedule = opts.schedule ?? ((turn) => setImmediate(turn));
    this.budget = opts.turnBudgetMs ?? 1;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 64);
    this.queues = Object.fromEntries(ROUTE_CLASSES.map((c) => [c, new ClassQueue(opts.limits[c])])) as Record<
      RouteClass,
      ClassQueue
    >;
    this.controller = new ShedController({
      ...opts.shed,
      now: this.now,
      classState: (cls) => {
        const q = this.queues[cls];
        const head = q.peek();
        return {
          headAgeMs: head ? this.now() - head.at : 0,
          queued: q.length,
          saturated: q.running >= q.limit.limit,
          places: q.limit.limit,
        };
      },
    });
    this.bodies = Object.fromEntries(
      ROUTE_CLASSES.map((cls) => {
        const message = `the server is overloaded: ${cls} requests are being shed (KEEL_ADMISSION=front); retry after ${RETRY_AFTER_SECONDS} s`;
        return [
          cls,
          {
            kserve: Buffer.from(JSON.stringify({ error: message })),
            mlflow: Buffer.from(JSON.stringify(errorBody("TEMPORARILY_UNAVAILABLE", message))),
          },
        ];
      }),
    ) as Record<RouteClass, { kserve: Buffer; mlflow: Buffer }>;
  }

  /** Wraps the server's request listener (Hono's) so every request passes this gate first. */
  wrap(next: RequestListener): RequestListener {
    return (req, res) => this.handle(req, res, next);
  }

  /** A `createServer` for @hono/node-server's `serve` that puts this gate in front of its listener. */
  readonly createServer = ((options: object, listener: RequestListener) =>
    createServer(options, this.wrap(listener))) as unknown as typeof createServer;

  handle(req: IncomingMessage, res: ServerResponse, next: RequestListener): void {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const token = this.opts.internalToken;
    if (NEVER_REFUSED.test(path) || (token && req.headers[INTERNAL_CALL_HEADER] === token)) {
      next(req, res);
      return;
    }
    const cls = routeClass(req.method ?? "GET", path);
    const queue = this.queues[cls];
    // Room: the queue, plus the free places (every request waits here for its turn, even one with a place).
    const room = queue.limit.queue + Math.max(0, queue.limit.limit - queue.running);
    if (queue.length >= room || this.controller.refuse(cls)) {
      queue.refused++;
      this.refuse(req, res, cls, path);
      return;
    }
    queue.push({ at: this.now(), ahead: queue.length, req, res, next });
    // With all its places taken, the class's next turn comes when one is freed.
    if (queue.running < queue.limit.limit) this.wake();
  }

  /** Per class: running in the app, waiting, admitted and refused so far, and the share shed now. */
  state(cls: RouteClass) {
    const q = this.queues[cls];
    return {
      running: q.running,
      queued: q.length,
      admitted: q.admitted,
      refused: q.refused,
      shed: this.controller.share(cls),
    };
  }

  private refuse(req: IncomingMessage, res: ServerResponse, cls: RouteClass, path: string): void {
    const body = path.startsWith("/v2/") ? this.bodies[cls].kserve : this.bodies[cls].mlflow;
    res.writeHead(503, {
      "content-type": "application/json",
      "content-length": body.length,
      "retry-after": String(RETRY_AFTER_SECONDS),
    });
    res.end(body);
    // The body is not wanted: read and drop it, so the kept-alive connection can carry the next request.
    req.resume();
  }

  /**
   * Schedules the next batch: one slot (setImmediate) per request that may run now. Slots
   * scheduled together run in the same check phase of the loop, with nextTick and promise work
   * (the handlers') drained between them, and no socket is polled until the last has run.
   */
  private wake(): void {
    if (this.scheduled) {
      // Arrivals read in the same poll as the one that scheduled the batch join it (slots added
      // before the check phase run in it); once the batch has begun, the next batch takes them.
      if (this.batchStart >= 0) return;
      const more = Math.min(this.maxBatch, this.runnable()) - this.batchLeft;
      for (let i = 0; i < more; i++) this.schedule(this.slot);
      if (more > 0) this.batchLeft += more;
      return;
    }
    const n = Math.min(this.maxBatch, this.runnable());
    if (n === 0) return;
    this.scheduled = true;
    this.batchLeft = n;
    this.batchStart = -1;
    this.last = undefined;
    for (let i = 0; i < n; i++) this.schedule(this.slot);
  }

  /** Requests waiting that have a free place in their class. */
  private runnable(): number {
    let n = 0;
    for (const cls of ROUTE_CLASSES) {
      const q = this.queues[cls];
      n += Math.min(q.length, Math.max(0, q.limit.limit - q.running));
    }
    return n;
  }

  /** One slot of a batch: charges the previous hand-off its loop time, hands one more off while the budget lasts. */
  private readonly slot = (): void => {
    const t = this.now();
    if (this.batchStart < 0) this.batchStart = t;
    if (this.last) {
      this.last.charge(t - this.lastAt);
      this.last = undefined;
    }
    if (t - this.batchStart < this.budget) this.handOff(t);
    if (--this.batchLeft === 0) {
      this.scheduled = false;
      this.wake();
    }
  };

  private handOff(t: number): void {
    for (;;) {
      const cls = this.pick();
      if (!cls) return;
      const queue = this.queues[cls];
      const w = queue.shift();
      // The caller went away while waiting: nothing to run.
      if (w.res.destroyed || w.req.socket?.destroyed) continue;
      this.controller.observe(cls, t - w.at, w.ahead);
      queue.running++;
      queue.admitted++;
      w.res.once("close", () => {
        queue.running--;
        if (queue.length > 0) this.wake();
      });
      this.last = queue;
      this.lastAt = t;
      w.next(w.req, w.res);
      return;
    }
  }

  /** The next class (see `order`) with a request waiting and a free place; charges it its turn. */
  private pick(): RouteClass | undefined {
    const order = this.opts.order ?? "oldest";
    let best: RouteClass | undefined;
    if (order === "classes") {
      for (let i = 0; i < ROUTE_CLASSES.length; i++) {
        const idx = (this.nextClass + i) % ROUTE_CLASSES.length;
        if (this.mayRun(ROUTE_CLASSES[idx])) {
          this.nextClass = (idx + 1) % ROUTE_CLASSES.length;
          return ROUTE_CLASSES[idx];
        }
      }
      return undefined;
    }
    let key = Number.POSITIVE_INFINITY;
    for (const cls of ROUTE_CLASSES) {
      if (!this.mayRun(cls)) continue;
      const q = this.queues[cls];
      const k = order === "oldest" ? (q.peek() as Waiting).at : q.vtime;
      if (k < key) {
        best = cls;
        key = k;
      }
    }
    if (best && order === "cost") {
      // Start-time fair queueing: a class back from idle starts at the clock, with no credit for its idle time.
      const q = this.queues[best];
      this.vclock = Math.max(q.vtime, this.vclock);
      q.vtime = this.vclock + q.cost;
    }
    return best;
  }

  private mayRun(cls: RouteClass): boolean {
    const q = this.queues[cls];
    return q.length > 0 && q.running < q.limit.limit;
  }
}

/** `front`'s floor under the learned target (ms): a sojourn this short is never shed. */
export const FRONT_TARGET_MS = 5;

/** `front` admission from the http config section (KEEL_ADMISSION_LIMITS, KEEL_ADMISSION_TARGET_MS). */
export function frontAdmissionConfig(
  http: { admissionLimits?: string; admissionTargetMs?: number },
  internalToken?: string,
): FrontAdmissionOptions {
  return {
    limits: parseClassLimits(http.admissionLimits, frontClassLimits()),
    shed: { targetMs: http.admissionTargetMs ?? FRONT_TARGET_MS },
    internalToken,
  };
}

/**
 * Default places and queues for `front`: the places as for `classes` (admission-classes.ts), and
 * a longer queue (16 per place), since here the queue is where requests wait for the loop and
 * the shedding controller, not the queue's length, keeps its sojourn down.
 */
export function frontClassLimits(): Record<RouteClass, ClassLimit> {
  const d = defaultClassLimits();
  return Object.fromEntries(
    ROUTE_CLASSES.map((c) => [c, { limit: d[c].limit, queue: 16 * d[c].limit }]),
  ) as Record<RouteClass, ClassLimit>;
}
