/**
 * The local metadata store as a user meets it: `keel dev` on an on-disk data dir, started as its
 * own process, and this process as the client, making the HTTP calls the official MLflow client
 * makes (keep-alive, JSON). Side by side in one run on the same machine:
 *   - before: metadata in dynalite on disk (KEEL_LOCAL_METADATA=dynalite, the previous default)
 *   - after:  metadata in SQLite on the data dir (metadata.sqlite, the default now)
 * Figures: one log-metric at a time (p50/p99), log-metric req/s with 16 clients on one run and
 * on 16 runs, runs/search over 10,000 runs with a metric filter and an order_by, log-batch of 1000
 * metrics (as the MLflow client chunks them), and a notebook's loop: 10,000 log-metric calls one
 * after another (step=i) on a fresh run, total wall time.
 * Run: node --import tsx bench/metadata.ts   (npm run bench -- metadata; KEEL_BENCH_RUNS=2000 is quicker)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLocalPlatform } from "@keel/local";
import { TrackingService } from "@keel/tracking";

process.env.KEEL_LOG_LEVEL ??= "error";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SEARCH_RUNS = Number(process.env.KEEL_BENCH_RUNS ?? 10_000);
const API = "/api/2.0/mlflow";
const SEQUENTIAL = 1000;
const PER_CLIENT = 100;
const BATCHES = 25;
const NOTEBOOK_STEPS = Number(process.env.KEEL_BENCH_NOTEBOOK_STEPS ?? 10_000);

const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

type Store = "dynalite" | "sqlite";
const storeEnv = (store: Store) => (store === "dynalite" ? "dynalite" : "sqlite");

async function pool(n: number, total: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < total) await fn(next++);
    }),
  );
}

/** Seeds the search runs into the data dir (setup, not measured), then closes it. */
async function seed(dataDir: string, store: Store): Promise<{ searchExp: string; seedSecs: number }> {
  process.env.KEEL_LOCAL_METADATA = storeEnv(store);
  const local = await startLocalPlatform({ port: 0, dataDir });
  try {
    // Without the audit log, whose gap-free chain serialises the creates (as in bench/tracking.ts).
    const seeder = new TrackingService({
      ...local.platform.deps,
      config: { artifactRoot: local.platform.deps.config.artifacts.root },
      audit: { append: async () => ({}) as never },
    });
    const searchExp = (await seeder.createExperiment({ name: "bench-search" })).experiment_id;
    const t0 = performance.now();
    await pool(8, SEARCH_RUNS, async (i) => {
      const { run } = await seeder.createRun({ experiment_id: searchExp, start_time: 1_700_000_000_000 + i });
      await seeder.logBatch({
        run_id: run.info.run_id,
        metrics: [
          { key: "auc", value: ((i * 7919) % 1000) / 1000, step: 0, timestamp: 1 },
          { key: "loss", value: Math.random(), step: 0, timestamp: 1 },
        ],
        params: [{ key: "lr", value: String(i % 10) }],
      });
    });
    return { searchExp, seedSecs: (performance.now() - t0) / 1000 };
  } finally {
    await local.close();
    delete process.env.KEEL_LOCAL_METADATA;
  }
}

/** Starts `keel dev` on the data dir as a separate process; resolves with its URL. */
function startKeelDev(dataDir: string, store: Store): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      // KEEL_BENCH_PROFILE=<dir> writes a CPU profile of the server there.
      ...(process.env.KEEL_BENCH_PROFILE
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.KEEL_BENCH_PROFILE}`]
        : []),
      join(ROOT, "packages/cli/bin/keel.mjs"),
      "dev",
      "--port",
      "0",
      "--data-dir",
      dataDir,
      "--no-example",
    ],
    {
      cwd: ROOT,
      env: { ...process.env, KEEL_LOCAL_METADATA: storeEnv(store), KEEL_LOG_LEVEL: "error" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const m = /Keel is ready at http:\/\/localhost:(\d+)/.exec(out);
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, child });
    });
    child.once("exit", (code) => reject(new Error(`keel dev exited (${code}): ${out}`)));
  });
}

async function stop(child: ChildProcess) {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

let errors = 0;
async function call<T>(url: string, path: string, body: unknown): Promise<T> {
  const r = await fetch(`${url}${API}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) {
    errors++;
    throw new Error(`${path}: ${r.status} ${text}`);
  }
  return JSON.parse(text) as T;
}

const logMetric = (url: string, runId: string, step: number) =>
  call(url, "/runs/log-metric", {
    run_id: runId,
    key: "loss",
    value: 1 / (step + 1),
    timestamp: Date.now(),
    step,
  });

async function createRun(url: string, exp: string): Promise<string> {
  const r = await call<{ run: { info: { run_id: string } } }>(url, "/runs/create", {
    experiment_id: exp,
    start_time: Date.now(),
  });
  return r.run.info.run_id;
}

/** One runs/log-batch body of 1000 metrics: 10 keys x 100 steps, or 1000 distinct keys at step 0. */
function batchBody(runId: string, call: number, distinctKeys: boolean) {
  const timestamp = Date.now();
  return {
    run_id: runId,
    metrics: Array.from({ length: 1000 }, (_, j) =>
      distinctKeys
        ? { key: `m${j}`, value: j / 1000, timestamp, step: call }
        : { key: `k${j % 10}`, value: j / 1000, timestamp, step: call * 100 + Math.floor(j / 10) },
    ),
    params: [],
    tags: [],
  };
}

async function logBatches(url: string, exp: string, distinctKeys: boolean): Promise<number[]> {
  const runId = await createRun(url, exp);
  await call(url, "/runs/log-batch", batchBody(runId, BATCHES, distinctKeys)); // warm-up
  const lat: number[] = [];
  for (let i = 0; i < BATCHES; i++) {
    const body = batchBody(runId, i, distinctKeys);
    const t0 = performance.now();
    await call(url, "/runs/log-batch", body);
    lat.push(performance.now() - t0);
  }
  return lat;
}

/** A notebook's training loop: one log-metric per step, each awaited before the next. */
async function notebook(url: string, exp: string): Promise<number> {
  const runId = await createRun(url, exp);
  const t0 = performance.now();
  for (let i = 0; i < NOTEBOOK_STEPS; i++) await logMetric(url, runId, i);
  return (performance.now() - t0) / 1000;
}

/**
 * CPU seconds the server process has used (all its threads), from /proc (Linux; NaN
 * elsewhere). CPU per request moves much less with other work on a shared machine than req/s.
 */
function processCpu(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** 16 clients logging PER_CLIENT metrics each: req/s, and the server's CPU per request (µs). */
async function throughput(
  url: string,
  runIds: string[],
  pid?: number,
): Promise<{ rps: number; cpuUs: number }> {
  const cpu0 = processCpu(pid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async (_, c) => {
      const runId = runIds[c % runIds.length];
      for (let i = 0; i < PER_CLIENT; i++) await logMetric(url, runId, c * PER_CLIENT + i);
    }),
  );
  const rps = (16 * PER_CLIENT) / ((performance.now() - t0) / 1000);
  return { rps, cpuUs: ((processCpu(pid) - cpu0) / (16 * PER_CLIENT)) * 1e6 };
}

async function measure(store: Store) {
  const dataDir = await mkdtemp(join(tmpdir(), `keel-bench-metadata-${store}-`));
  try {
    const { searchExp, seedSecs } = await seed(dataDir, store);
    const { url, child } = await startKeelDev(dataDir, store);
    try {
      const exp = (await call<{ experiment_id: string }>(url, "/experiments/create", { name: "bench" }))
        .experiment_id;
      const run = await createRun(url, exp);
      for (let i = 0; i < 50; i++) await logMetric(url, run, i);
      const lat: number[] = [];
      for (let i = 0; i < SEQUENTIAL; i++) {
        const t0 = performance.now();
        await logMetric(url, run, 100 + i);
        lat.push(performance.now() - t0);
      }
      const batch = await logBatches(url, exp, false);
      const batchDistinct = await logBatches(url, exp, true);
      const notebookSecs = await notebook(url, exp);
      const oneRun = await throughput(url, [await createRun(url, exp)], child.pid);
      const runs = await Promise.all(Array.from({ length: 16 }, () => createRun(url, exp)));
      const manyRuns = await throughput(url, runs, child.pid);
      const search: number[] = [];
      let returned = 0;
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        const page = await call<{ runs?: unknown[] }>(url, "/runs/search", {
          experiment_ids: [searchExp],
          filter: "metrics.auc > 0.9 and params.lr != '3'",
          order_by: ["metrics.loss DESC"],
          max_results: 100,
        });
        search.push(performance.now() - t0);
        returned = page.runs?.length ?? 0;
      }
      return {
        seedSecs,
        p50: pct(lat, 0.5),
        p99: pct(lat, 0.99),
        oneRun,
        manyRuns,
        batchP50: pct(batch, 0.5),
        batchP90: pct(batch, 0.9),
        batchDistinctP50: pct(batchDistinct, 0.5),
        batchDistinctP90: pct(batchDistinct, 0.9),
        notebookSecs,
        searchP50: pct(search, 0.5),
        searchMax: Math.max(...search),
        returned,
      };
    } finally {
      await stop(child);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

console.log(
  `# bench/metadata.ts on ${new Date().toISOString()} (node ${process.version}, load average ${loadavg()[0].toFixed(1)})`,
);
const only = process.env.KEEL_BENCH_STORES?.split(",") as Store[] | undefined;
const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
for (const store of only ?? (["dynalite", "sqlite"] as Store[])) results[store] = await measure(store);
const stores = Object.keys(results);
const row = (label: string, f: (r: Awaited<ReturnType<typeof measure>>) => string) =>
  console.log(`| ${label} | ${stores.map((s) => f(results[s])).join(" | ")} |`);
console.log(
  `\n| keel dev on an on-disk data dir | ${stores.map((s) => (s === "dynalite" ? "before: dynalite (LevelDB)" : "after: SQLite")).join(" | ")} |`,
);
console.log(`| --- | ${stores.map(() => "---").join(" | ")} |`);
row(
  `log-metric, one at a time, p50 / p99 (${SEQUENTIAL} calls)`,
  (r) => `${r.p50.toFixed(2)} / ${r.p99.toFixed(2)} ms`,
);
row(
  `notebook: ${NOTEBOOK_STEPS} log-metric calls one after another (step=i), total`,
  (r) => `${r.notebookSecs.toFixed(1)} s (${Math.round(NOTEBOOK_STEPS / r.notebookSecs)}/s)`,
);
row(
  `log-batch of 1000 metrics, 10 keys x 100 steps, p50 / p90 (${BATCHES} calls)`,
  (r) => `${r.batchP50.toFixed(1)} / ${r.batchP90.toFixed(1)} ms`,
);
row(
  `log-batch of 1000 metrics, 1000 distinct keys, p50 / p90 (${BATCHES} calls)`,
  (r) => `${r.batchDistinctP50.toFixed(1)} / ${r.batchDistinctP90.toFixed(1)} ms`,
);
row(
  `log-metric, 16 clients on one run (${16 * PER_CLIENT} calls): req/s, server CPU per request`,
  (r) => `${Math.round(r.oneRun.rps)} req/s, ${Math.round(r.oneRun.cpuUs)} µs`,
);
row(
  `log-metric, 16 clients on 16 runs (${16 * PER_CLIENT} calls): req/s, server CPU per request`,
  (r) => `${Math.round(r.manyRuns.rps)} req/s, ${Math.round(r.manyRuns.cpuUs)} µs`,
);
row(
  `runs/search over ${SEARCH_RUNS} runs, metric filter + order_by, first 100, p50 / max (7)`,
  (r) => `${r.searchP50.toFixed(0)} / ${r.searchMax.toFixed(0)} ms (${r.returned} returned)`,
);
row(`seeding ${SEARCH_RUNS} runs in process (setup)`, (r) => `${r.seedSecs.toFixed(1)} s`);
console.log(
  `\nerrors: ${errors}; load average after: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`,
);
