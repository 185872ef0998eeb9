/**
 * Soak: `keel dev` as users run it (its own process, a fresh data dir on disk, the fraud
 * quickstart), under the mixed load of issue 19, for a configurable time:
 * 8 clients logging metrics, 4 searching runs, 8 fraud checks (`POST /v2/models/fraud/infer`
 * with an entity id), 4 online-feature readers, each a closed loop (next request when the last
 * answers). The server's resident memory is read from /proc/<pid>/status every 10 s. Then an
 * overload run: 4x the clients of every kind for `--overload-seconds`, reporting the p99 of
 * admitted fraud checks next to the normal p99 and how fast refusals (429/503) come back.
 * Refused callers wait what `Retry-After` says (jittered 0.5-1.5x, as a well-behaved client
 * does) unless `--ignore-retry-after` (then they retry at once: the worst case).
 * The load clients run in `--load-processes` child processes (bench/soak-client.ts; 2 by default),
 * so their own event-loop delay is not counted as the server's, and a probe process sends one
 * request of each kind every `--probe-ms` (40) on a nearly idle loop: its figures are reported as
 * "probe" beside the load clients' own. The server's admission policy is whatever the
 * environment says (`KEEL_ADMISSION=front npm run bench -- soak ...`).
 * Run: npm run bench -- soak [--minutes 10] [--overload-seconds 60] [--ignore-retry-after]
 *   [--load-processes 2] [--probe-ms 40] [--server-cpu-prof <dir>]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type ClientJob, type ClientResult, KINDS, type Kind, newTallies, poster } from "./soak-client";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "overload-seconds": { type: "string", default: "60" },
    "ignore-retry-after": { type: "boolean", default: false },
    "load-processes": { type: "string", default: "2" },
    "probe-ms": { type: "string", default: "40" },
    /** A folder: the keel dev process runs with --cpu-prof and writes its profile there on exit. */
    "server-cpu-prof": { type: "string" },
  },
});
const MINUTES = Number(values.minutes);
const OVERLOAD_S = Number(values["overload-seconds"]);
const HONOUR_RETRY_AFTER = !values["ignore-retry-after"];
const LOAD_PROCESSES = Math.max(1, Number(values["load-processes"]));
const PROBE_MS = Number(values["probe-ms"]);
const load1 = () => loadavg()[0].toFixed(1);
const ROOT = resolve(import.meta.dirname, "..");
const dataDir = mkdtempSync(join(tmpdir(), "keel-bench-soak-"));

const server = spawn(
  process.execPath,
  [
    ...(values["server-cpu-prof"]
      ? ["--cpu-prof", `--cpu-prof-dir=${resolve(values["server-cpu-prof"])}`]
      : []),
    join(ROOT, "packages/cli/bin/keel.mjs"),
    "dev",
    "--port",
    "0",
    "--data-dir",
    dataDir,
  ],
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

async function main() {
  const [, url] = await waitFor(/Keel is ready at (\S+)/, 120_000);
  const qsStart = performance.now();
  await waitFor(/Quickstart complete|The quickstart failed/, 600_000);
  if (/The quickstart failed/.test(output)) throw new Error(`quickstart failed:\n${output.slice(-3000)}`);
  console.log(
    `keel dev (pid ${server.pid}) at ${url}; quickstart ${((performance.now() - qsStart) / 1000).toFixed(0)} s; RSS ${rssMb().toFixed(0)} MB; load average ${load1()}`,
  );

  const post = poster(url);
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
  const job = { url, experimentId: exp.experiment_id, runIds, honourRetryAfter: HONOUR_RETRY_AFTER };

  /** A phase: the clients split over LOAD_PROCESSES children, plus the probe child; merged tallies. */
  async function phase(clients: Record<Kind, number>, seconds: number, sample?: () => void) {
    const jobs: ClientJob[] = [];
    // Every process starts at the same moment (each needs a second or two to load first).
    const startAt = Date.now() + 4000;
    for (let p = 0; p < LOAD_PROCESSES; p++) {
      const share = Object.fromEntries(
        KINDS.map((k) => [
          k,
          Math.floor(clients[k] / LOAD_PROCESSES) + (p < clients[k] % LOAD_PROCESSES ? 1 : 0),
        ]),
      ) as Record<Kind, number>;
      jobs.push({ ...job, role: "load", clients: share, offset: p * 1000, seconds, startAt });
    }
    jobs.push({ ...job, role: "probe", intervalMs: PROBE_MS, seconds, startAt });
    const timer = sample ? setInterval(sample, 10_000) : undefined;
    try {
      const results = await Promise.all(jobs.map(runChild));
      const load = newTallies();
      for (const r of results.slice(0, -1))
        for (const k of KINDS) {
          load[k].ok.push(...r.tallies[k].ok);
          load[k].refused.push(...r.tallies[k].refused);
          load[k].refusedAt.push(...r.tallies[k].refusedAt);
          load[k].errors += r.tallies[k].errors;
          load[k].lastError = r.tallies[k].lastError ?? load[k].lastError;
          load[k].noRetryAfter = (load[k].noRetryAfter ?? 0) + (r.tallies[k].noRetryAfter ?? 0);
        }
      const probe = results.at(-1) as ClientResult;
      const lag = results
        .map((r, i) => `${i < results.length - 1 ? `load ${i + 1}` : "probe"} ${r.loopDelayMs.join("/")}`)
        .join(", ");
      return { load, probe: probe.tallies, lag: `client event-loop delay p50/p99/max ms: ${lag}` };
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  const NORMAL: Record<Kind, number> = { "log-metric": 8, "search-runs": 4, infer: 8, "online-features": 4 };
  const rss: Array<[number, number]> = [[0, rssMb()]];
  const started = Date.now();
  const normal = await phase(NORMAL, MINUTES * 60, () => {
    const at = (Date.now() - started) / 60_000;
    rss.push([at, rssMb()]);
    if (Math.round(at * 6) % 6 === 0)
      console.log(`  ${at.toFixed(1)} min: RSS ${rss.at(-1)?.[1].toFixed(0)} MB`);
  });
  const total = normal.load;
  const rssAt = (min: number) =>
    rss.reduce((best, r) => (Math.abs(r[0] - min) < Math.abs(best[0] - min) ? r : best))[1];
  const afterLoad = rssMb();
  console.log(`load average after the mixed load: ${load1()}; ${normal.lag}`);

  const ms = (xs: number[], p: number) => (xs.length ? `${pct(xs, p).toFixed(1)} ms` : "-");
  console.log(
    `\nmixed load, ${MINUTES} min, 24 clients in ${LOAD_PROCESSES} processes (8 log-metric, 4 search-runs, 8 infer, 4 online-features), probe every ${PROBE_MS} ms per kind:`,
  );
  console.log(
    "| kind | requests | errors | refused | p50 | p99 | probe p50 / p99 | probe refused |\n| --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const k of KINDS) {
    const t = total[k];
    const pr = normal.probe[k];
    console.log(
      `| ${k} | ${t.ok.length} | ${t.errors}${t.lastError ? ` (${t.lastError})` : ""} | ${t.refused.length} | ${ms(t.ok, 50)} | ${ms(t.ok, 99)} | ${ms(pr.ok, 50)} / ${ms(pr.ok, 99)} | ${pr.refused.length}${pr.errors ? ` (${pr.errors} errors)` : ""} |`,
    );
  }
  const marks = [1, 5, 10, 30].filter((m) => m <= MINUTES + 0.01);
  if (!marks.includes(MINUTES)) marks.push(MINUTES);
  console.log(
    `RSS: start ${rss[0][1].toFixed(0)} MB; ${marks.map((m) => `${m} min ${rssAt(m).toFixed(0)} MB`).join("; ")}; max ${Math.max(...rss.map((r) => r[1])).toFixed(0)} MB; after the load ${afterLoad.toFixed(0)} MB`,
  );
  console.log(`RSS samples (min, MB): ${rss.map(([m, v]) => `${m.toFixed(1)}:${v.toFixed(0)}`).join(" ")}`);
  const refusedAt = KINDS.flatMap((k) => [...total[k].refusedAt, ...normal.probe[k].refusedAt]);
  if (refusedAt.length) {
    const by10 = new Array(Math.ceil(MINUTES * 6)).fill(0);
    for (const at of refusedAt) by10[Math.min(by10.length - 1, Math.floor(at / 10))]++;
    console.log(`refusals in the mixed load, per 10 s (load and probe): ${by10.join(" ")}`);
  }

  // Overload: 4x every kind's clients.
  const FOUR_X = Object.fromEntries(KINDS.map((k) => [k, 4 * NORMAL[k]])) as Record<Kind, number>;
  const loadBefore = load1();
  const over = await phase(FOUR_X, OVERLOAD_S);
  console.log(
    `\noverload, ${OVERLOAD_S} s at 4x (96 clients in ${LOAD_PROCESSES} processes; refused callers ${HONOUR_RETRY_AFTER ? "wait Retry-After" : "retry at once"}); load average ${loadBefore} -> ${load1()}; ${over.lag}:`,
  );
  console.log(
    "| kind | admitted | p99 admitted | p99 normal | refused | refusal p50 / p99 | errors | probe: admitted p99 (normal p99) | probe: time to refuse p50 / p99 (refused) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const k of KINDS) {
    const o = over.load[k];
    const pr = over.probe[k];
    console.log(
      `| ${k} | ${o.ok.length} | ${ms(o.ok, 99)} | ${ms(total[k].ok, 99)} | ${o.refused.length}${o.noRetryAfter ? ` (${o.noRetryAfter} without Retry-After)` : ""} | ${o.refused.length ? `${pct(o.refused, 50).toFixed(1)} / ${pct(o.refused, 99).toFixed(1)} ms` : "-"} | ${o.errors}${o.lastError ? ` (${o.lastError})` : ""} | ${ms(pr.ok, 99)} (${ms(normal.probe[k].ok, 99)}) | ${pr.refused.length ? `${pct(pr.refused, 50).toFixed(1)} / ${pct(pr.refused, 99).toFixed(1)} ms (${pr.refused.length})` : "-"} |`,
    );
  }
  console.log(
    `RSS after overload ${rssMb().toFixed(0)} MB; admission ${process.env.KEEL_ADMISSION ?? "front (keel dev's default)"}`,
  );
}

/** Runs one share of the load in a child process (bench/soak-client.ts) and reads its result. */
function runChild(job: ClientJob): Promise<ClientResult> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "bench/soak-client.ts"), JSON.stringify(job)],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", fail);
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) fail(new Error(`soak client exited ${code}: ${out.slice(-2000)}`));
      else done(JSON.parse(line.slice(7)) as ClientResult);
    });
  });
}

try {
  await main();
} finally {
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  rmSync(dataDir, { recursive: true, force: true });
}
