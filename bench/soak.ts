/**
 * Soak: `keel dev` as users run it (its own process, a fresh data dir on disk, the fraud
 * quickstart), under the mixed load of issue 19 from this process, for a configurable time:
 * 8 clients logging metrics, 4 searching runs, 8 fraud checks (`POST /v2/models/fraud/infer`
 * with an entity id), 4 online-feature readers, each a closed loop (next request when the last
 * answers). The server's resident memory is read from /proc/<pid>/status every 10 s. Then an
 * overload run: 4x the clients of every kind for `--overload-seconds`, reporting the p99 of
 * admitted fraud checks next to the normal p99 and how fast refusals (429/503) come back.
 * Refused callers wait what `Retry-After` says (jittered 0.5-1.5x, as a well-behaved client
 * does) unless `--ignore-retry-after` (then they retry at once: the worst case).
 * Run: npm run bench -- soak [--minutes 10] [--overload-seconds 60] [--ignore-retry-after]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "overload-seconds": { type: "string", default: "60" },
    "ignore-retry-after": { type: "boolean", default: false },
  },
});
const MINUTES = Number(values.minutes);
const OVERLOAD_S = Number(values["overload-seconds"]);
const HONOUR_RETRY_AFTER = !values["ignore-retry-after"];
const load1 = () => loadavg()[0].toFixed(1);
const ROOT = resolve(import.meta.dirname, "..");
const dataDir = mkdtempSync(join(tmpdir(), "keel-bench-soak-"));
const USERS = 1000;

const server = spawn(
  process.execPath,
  [join(ROOT, "packages/cli/bin/keel.mjs"), "dev", "--port", "0", "--data-dir", dataDir],
  {
    cwd: ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  },
);
let output = "";
server.stdout.on("data", (d) => (output += d));
server.stderr.on("data", (d) => (output += d));

/** Waits until the server printed a line matching `re` (or exited). */
async function waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = output.match(re);
    if (m) return m;
    if (server.exitCode !== null || Date.now() > until)
      throw new Error(`keel dev did not print ${re} (exit ${server.exitCode}):\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function rssMb(): number {
  const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
  return Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0) / 1024;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

type Kind = "log-metric" | "search-runs" | "infer" | "online-features";
interface Tally {
  ok: number[];
  refused: number[];
  errors: number;
  lastError?: string;
  noRetryAfter?: number;
}
const newTallies = (): Record<Kind, Tally> => ({
  "log-metric": { ok: [], refused: [], errors: 0 },
  "search-runs": { ok: [], refused: [], errors: 0 },
  infer: { ok: [], refused: [], errors: 0 },
  "online-features": { ok: [], refused: [], errors: 0 },
});

async function main() {
  const [, url] = await waitFor(/Keel is ready at (\S+)/, 120_000);
  const qsStart = performance.now();
  await waitFor(/Quickstart complete|The quickstart failed/, 600_000);
  if (/The quickstart failed/.test(output)) throw new Error(`quickstart failed:\n${output.slice(-3000)}`);
  console.log(
    `keel dev (pid ${server.pid}) at ${url}; quickstart ${((performance.now() - qsStart) / 1000).toFixed(0)} s; RSS ${rssMb().toFixed(0)} MB; load average ${load1()}`,
  );

  // node:http with keep-alive (one socket per client loop): far less client CPU per request than
  // fetch, so on a shared machine less of the measured time is the load generator's own.
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const base = new URL(url);
  const post = (path: string, body: unknown, retried = false) =>
    new Promise<{ status: number; ok: boolean; retryAfter?: string; json: () => unknown }>((done, fail) => {
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
  const exp = (await post("/api/2.0/mlflow/experiments/create", { name: `soak-${Date.now()}` })).json() as {
    experiment_id: string;
  };
  const runIds: string[] = [];
  for (let i = 0; i < 32; i++) {
    const r = (await post("/api/2.0/mlflow/runs/create", { experiment_id: exp.experiment_id })).json() as {
      run: { info: { run_id: string } };
    };
    runIds.push(r.run.info.run_id);
  }
  const user = (i: number) => `u${String(i % USERS).padStart(5, "0")}`;
  const requests: Record<Kind, (client: number, i: number) => [string, unknown]> = {
    "log-metric": (c, i) => [
      "/api/2.0/mlflow/runs/log-metric",
      {
        run_id: runIds[c % runIds.length],
        key: `loss${i % 5}`,
        value: Math.random(),
        timestamp: Date.now(),
        step: i,
      },
    ],
    "search-runs": (_, i) => [
      "/api/2.0/mlflow/runs/search",
      {
        experiment_ids: [exp.experiment_id],
        max_results: 50,
        ...(i % 2 ? { filter: "metrics.loss0 > 0.5" } : {}),
        order_by: ["attributes.start_time DESC"],
      },
    ],
    infer: (c, i) => ["/v2/models/fraud/infer", { entities: { user_id: [user(c * 7919 + i)] } }],
    "online-features": (c, i) => [
      "/api/v1/features/get-online-features",
      { feature_service: "fraud_v1", entities: { user_id: [user(c * 104729 + i)] } },
    ],
  };

  /** Closed-loop clients of each kind until `stop()`; answers land in `tallies`. */
  function load(clients: Record<Kind, number>, tallies: () => Record<Kind, Tally>) {
    let running = true;
    const loops: Promise<void>[] = [];
    for (const kind of Object.keys(clients) as Kind[]) {
      for (let c = 0; c < clients[kind]; c++) {
        loops.push(
          (async () => {
            for (let i = 0; running; i++) {
              const [path, body] = requests[kind](c, i);
              const t0 = performance.now();
              const t = tallies()[kind];
              try {
                const res = await post(path, body);
                const ms = performance.now() - t0;
                if (res.ok) t.ok.push(ms);
                else if (res.status === 429 || res.status === 503) {
                  t.refused.push(ms);
                  if (!res.retryAfter) t.noRetryAfter = (t.noRetryAfter ?? 0) + 1;
                  const wait = Number(res.retryAfter ?? 1) * 1000 * (0.5 + Math.random());
                  if (HONOUR_RETRY_AFTER && running) await new Promise((r) => setTimeout(r, wait));
                } else {
                  t.errors++;
                  t.lastError = `${res.status} ${path}`;
                }
              } catch (e) {
                t.errors++;
                t.lastError = `${(e as Error).message} ${path}`;
              }
            }
          })(),
        );
      }
    }
    return async () => {
      running = false;
      await Promise.all(loops);
    };
  }

  // The load generator's own event-loop delay: what of the client-measured latency is this process waiting for CPU.
  const clientLag = monitorEventLoopDelay({ resolution: 10 });
  const lagText = () =>
    `load generator's event-loop delay p50 ${(clientLag.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(clientLag.percentile(99) / 1e6).toFixed(0)} ms, max ${(clientLag.max / 1e6).toFixed(0)} ms`;
  clientLag.enable();
  const NORMAL: Record<Kind, number> = { "log-metric": 8, "search-runs": 4, infer: 8, "online-features": 4 };
  const total = newTallies();
  let window = newTallies();
  const rss: Array<[number, number]> = [[0, rssMb()]];
  const started = Date.now();
  const stop = load(NORMAL, () => window);
  let lastWindow = window;
  while (Date.now() - started < MINUTES * 60_000) {
    await new Promise((r) => setTimeout(r, 10_000));
    const at = (Date.now() - started) / 60_000;
    rss.push([at, rssMb()]);
    for (const k of Object.keys(total) as Kind[]) {
      total[k].ok.push(...window[k].ok);
      total[k].refused.push(...window[k].refused);
      total[k].errors += window[k].errors;
      total[k].lastError = window[k].lastError ?? total[k].lastError;
    }
    if (Math.round(at * 6) % 6 === 0) {
      const n = Object.values(window).reduce((s, t) => s + t.ok.length, 0);
      console.log(
        `  ${at.toFixed(1)} min: RSS ${rss.at(-1)?.[1].toFixed(0)} MB, ${(n / 10).toFixed(0)} req/s`,
      );
    }
    lastWindow = window;
    window = newTallies();
  }
  await stop();
  // Normal latency of the fraud checks: the whole normal phase (and its last 10 s, for comparison with overload).
  const normalP99 = pct(total.infer.ok, 99);
  const rssAt = (min: number) =>
    rss.reduce((best, r) => (Math.abs(r[0] - min) < Math.abs(best[0] - min) ? r : best))[1];
  const afterLoad = rssMb();
  console.log(`load average after the mixed load: ${load1()}; ${lagText()}`);
  clientLag.reset();

  console.log(
    `\nmixed load, ${MINUTES} min, 24 clients (8 log-metric, 4 search-runs, 8 infer, 4 online-features):`,
  );
  console.log("| kind | requests | errors | refused | p50 | p99 |\n| --- | --- | --- | --- | --- | --- |");
  for (const [k, t] of Object.entries(total))
    console.log(
      `| ${k} | ${t.ok.length} | ${t.errors}${t.lastError ? ` (${t.lastError})` : ""} | ${t.refused.length} | ${pct(t.ok, 50).toFixed(1)} ms | ${pct(t.ok, 99).toFixed(1)} ms |`,
    );
  const marks = [1, 5, 10, 30].filter((m) => m <= MINUTES + 0.01);
  if (!marks.includes(MINUTES)) marks.push(MINUTES);
  console.log(
    `RSS: start ${rss[0][1].toFixed(0)} MB; ${marks.map((m) => `${m} min ${rssAt(m).toFixed(0)} MB`).join("; ")}; max ${Math.max(...rss.map((r) => r[1])).toFixed(0)} MB; after the load ${afterLoad.toFixed(0)} MB`,
  );
  console.log(`RSS samples (min, MB): ${rss.map(([m, v]) => `${m.toFixed(1)}:${v.toFixed(0)}`).join(" ")}`);

  // Overload: 4x every kind's clients.
  const over = newTallies();
  const FOUR_X = Object.fromEntries(Object.entries(NORMAL).map(([k, n]) => [k, 4 * n])) as Record<
    Kind,
    number
  >;
  const stopOver = load(FOUR_X, () => over);
  await new Promise((r) => setTimeout(r, OVERLOAD_S * 1000));
  await stopOver();
  console.log(
    `\noverload, ${OVERLOAD_S} s at 4x (96 clients; refused callers ${HONOUR_RETRY_AFTER ? "wait Retry-After" : "retry at once"}); load average ${load1()}; ${lagText()}:`,
  );
  console.log(
    "| kind | admitted | p99 admitted | p99 normal | refused | refusal p50 / p99 | errors |\n| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const k of Object.keys(over) as Kind[]) {
    const o = over[k];
    console.log(
      `| ${k} | ${o.ok.length} | ${pct(o.ok, 99).toFixed(1)} ms | ${pct(total[k].ok, 99).toFixed(1)} ms | ${o.refused.length}${o.noRetryAfter ? ` (${o.noRetryAfter} without Retry-After)` : ""} | ${o.refused.length ? `${pct(o.refused, 50).toFixed(1)} / ${pct(o.refused, 99).toFixed(1)} ms` : "-"} | ${o.errors}${o.lastError ? ` (${o.lastError})` : ""} |`,
    );
  }
  console.log(
    `fraud checks: admitted p99 ${pct(over.infer.ok, 99).toFixed(1)} ms vs normal p99 ${normalP99.toFixed(1)} ms (last normal 10 s: ${pct(lastWindow.infer.ok, 99).toFixed(1)} ms); RSS after overload ${rssMb().toFixed(0)} MB`,
  );
}

try {
  await main();
} finally {
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  rmSync(dataDir, { recursive: true, force: true });
}
