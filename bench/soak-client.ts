/**
 * The soak's load generators (a helper of bench/soak.ts, not a benchmark of its own). Run as a
 * child process, `node --import tsx bench/soak-client.ts '<json>'`, it drives one share of the
 * load and prints `RESULT <json>` when done, so the load clients do not share one event loop
 * (96 clients in one process had a loop delay p99 of 12-16 ms even on a quiet machine, which
 * the figures then counted as server latency).
 * - role `load`: closed-loop clients of each kind (next request when the last answers); refused
 *   callers wait what `Retry-After` says (jittered 0.5-1.5x) unless `honourRetryAfter` is false.
 * - role `probe`: one request of each kind every `intervalMs` on its own (nearly idle) loop,
 *   whatever the answer: its latencies are the admitted and refusal times without the load
 *   generator's own delay.
 */
import { Agent, request } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";

export type Kind = "log-metric" | "search-runs" | "infer" | "online-features";
export const KINDS: Kind[] = ["log-metric", "search-runs", "infer", "online-features"];

export interface Tally {
  ok: number[];
  refused: number[];
  /** Seconds into the phase at which each refusal came. */
  refusedAt: number[];
  errors: number;
  lastError?: string;
  noRetryAfter?: number;
}
export const newTallies = (): Record<Kind, Tally> =>
  Object.fromEntries(
    KINDS.map((k) => [k, { ok: [], refused: [], refusedAt: [], errors: 0 }]),
  ) as unknown as Record<Kind, Tally>;

export interface ClientJob {
  role: "load" | "probe";
  url: string;
  experimentId: string;
  runIds: string[];
  /** Load: clients per kind; client numbers start at `offset` (distinct entities per child). */
  clients?: Record<Kind, number>;
  offset?: number;
  seconds: number;
  /** Epoch ms at which every process of the phase starts (so the load steps up at once). */
  startAt?: number;
  honourRetryAfter?: boolean;
  /** Probe: ms between two requests of a kind. */
  intervalMs?: number;
}

export interface ClientResult {
  tallies: Record<Kind, Tally>;
  /** This process's own event-loop delay, p50 / p99 / max ms. */
  loopDelayMs: [number, number, number];
}

export interface Answer {
  status: number;
  ok: boolean;
  retryAfter?: string;
  json: () => unknown;
}

/** POST with node:http keep-alive (far less client CPU per request than fetch). */
export function poster(url: string): (path: string, body: unknown) => Promise<Answer> {
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const base = new URL(url);
  const post = (path: string, body: unknown, retried = false) =>
    new Promise<Answer>((done, fail) => {
      const payload = JSON.stringify(body);
      const req = request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          path,
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const retryAfter = res.headers["retry-after"];
            done({
              status,
              ok: status >= 200 && status < 300,
              retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
              json: () => JSON.parse(Buffer.concat(chunks).toString("utf8")),
            });
          });
          res.on("error", fail);
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out after 30 s")));
      // A kept-alive socket the server closed just as it was reused (Node's documented race): send once more.
      req.on("error", (e: NodeJS.ErrnoException) =>
        req.reusedSocket && e.code === "ECONNRESET" && !retried
          ? post(path, body, true).then(done, fail)
          : fail(e),
      );
      req.end(payload);
    });
  return (path, body) => post(path, body);
}

const USERS = 1000;
const user = (i: number) => `u${String(i % USERS).padStart(5, "0")}`;

/** The request a client of `kind` sends the `i`-th time. */
function requestOf(job: ClientJob, kind: Kind, c: number, i: number): [string, unknown] {
  switch (kind) {
    case "log-metric":
      return [
        "/api/2.0/mlflow/runs/log-metric",
        {
          run_id: job.runIds[c % job.runIds.length],
          key: `loss${i % 5}`,
          value: Math.random(),
          timestamp: Date.now(),
          step: i,
        },
      ];
    case "search-runs":
      return [
        "/api/2.0/mlflow/runs/search",
        {
          experiment_ids: [job.experimentId],
          max_results: 50,
          ...(i % 2 ? { filter: "metrics.loss0 > 0.5" } : {}),
          order_by: ["attributes.start_time DESC"],
        },
      ];
    case "infer":
      return ["/v2/models/fraud/infer", { entities: { user_id: [user(c * 7919 + i)] } }];
    case "online-features":
      return [
        "/api/v1/features/get-online-features",
        { feature_service: "fraud_v1", entities: { user_id: [user(c * 104729 + i)] } },
      ];
  }
}

/** Sends one request and files its answer; returns it (undefined on a connection error). */
async function send(
  post: ReturnType<typeof poster>,
  path: string,
  body: unknown,
  t: Tally,
  started: number,
): Promise<Answer | undefined> {
  const t0 = performance.now();
  try {
    const res = await post(path, body);
    const ms = performance.now() - t0;
    if (res.ok) t.ok.push(ms);
    else if (res.status === 429 || res.status === 503) {
      t.refused.push(ms);
      t.refusedAt.push(Math.round((performance.now() - started) / 100) / 10);
      if (!res.retryAfter) t.noRetryAfter = (t.noRetryAfter ?? 0) + 1;
    } else {
      t.errors++;
      t.lastError = `${res.status} ${path}`;
    }
    return res;
  } catch (e) {
    t.errors++;
    t.lastError = `${(e as Error).message} ${path}`;
    return undefined;
  }
}

export async function runJob(job: ClientJob): Promise<ClientResult> {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const post = poster(job.url);
  const tallies = newTallies();
  if (job.startAt) await new Promise((r) => setTimeout(r, Math.max(0, job.startAt! - Date.now())));
  const started = performance.now();
  const until = started + job.seconds * 1000;
  const loops: Promise<void>[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (const kind of KINDS) {
    if (job.role === "probe") {
      const every = job.intervalMs ?? 40;
      loops.push(
        (async () => {
          for (let i = 0; performance.now() < until; i++) {
            const next = performance.now() + every;
            const [path, body] = requestOf(job, kind, 100_000 + KINDS.indexOf(kind), i);
            await send(post, path, body, tallies[kind], started);
            await sleep(Math.max(0, next - performance.now()));
          }
        })(),
      );
      continue;
    }
    for (let n = 0; n < (job.clients?.[kind] ?? 0); n++) {
      const c = (job.offset ?? 0) + n;
      loops.push(
        (async () => {
          for (let i = 0; performance.now() < until; i++) {
            const [path, body] = requestOf(job, kind, c, i);
            const res = await send(post, path, body, tallies[kind], started);
            if (res && (res.status === 429 || res.status === 503) && job.honourRetryAfter !== false) {
              const wait = Number(res.retryAfter ?? 1) * 1000 * (0.5 + Math.random());
              await sleep(Math.min(wait, Math.max(0, until - performance.now())));
            }
          }
        })(),
      );
    }
  }
  await Promise.all(loops);
  lag.disable();
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  return { tallies, loopDelayMs: [ms(lag.percentile(50)), ms(lag.percentile(99)), ms(lag.max)] };
}

if (process.argv[1]?.endsWith("soak-client.ts")) {
  const job = JSON.parse(process.argv[2]) as ClientJob;
  const result = await runJob(job);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
