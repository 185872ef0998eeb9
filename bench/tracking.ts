/**
 * Tracking figures on the local platform over loopback HTTP with keep-alive (Node's fetch):
 *   - log-metric requests/s with 1 and 16 concurrent clients (each client its own run)
 *   - log-batch of 1000 metrics, p50: 10 keys x 100 steps, and 1000 distinct keys
 *   - search-runs over 10,000 runs of one experiment with a metric filter and an order_by
 *   - get-history of a 100,000-point metric: one request, and in 25,000-point pages (as the
 *     Python client reads it)
 * Run: node --import tsx bench/tracking.ts   (KEEL_BENCH_RUNS=2000 for a quicker search seed)
 */
import { startLocalPlatform } from "@keel/local";
import { KeelClient } from "@keel/sdk";
import { TrackingService } from "@keel/tracking";

process.env.KEEL_LOG_LEVEL ??= "error";
const SEARCH_RUNS = Number(process.env.KEEL_BENCH_RUNS ?? 10_000);

const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [performance.now() - t0, v];
}

async function pool(n: number, total: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < total) await fn(next++);
    }),
  );
}

const local = await startLocalPlatform({ port: 0 });
const keel = new KeelClient({ url: local.url });
const t = keel.tracking;
try {
  const exp = await t.createExperiment("bench");

  // ---- log-metric throughput ----
  for (const clients of [1, 16]) {
    const runs = await Promise.all(
      Array.from({ length: clients }, () => t.createRun({ experiment_id: exp })),
    );
    const perClient = clients === 1 ? 1500 : 400;
    for (let i = 0; i < 20; i++) await t.logMetric(runs[0].info.run_id, "warm", i, { step: i });
    const [elapsed] = await timed(() =>
      Promise.all(
        runs.map(async (r) => {
          for (let i = 0; i < perClient; i++)
            await t.logMetric(r.info.run_id, "loss", 1 / (i + 1), { step: i });
        }),
      ),
    );
    const n = clients * perClient;
    console.log(
      `log-metric, ${clients} client(s): ${Math.round(n / (elapsed / 1000))} req/s (${n} requests)`,
    );
  }

  // ---- log-batch of 1000 metrics ----
  for (const [label, keys] of [
    ["10 keys x 100 steps", 10],
    ["1000 distinct keys", 1000],
  ] as const) {
    const run = await t.createRun({ experiment_id: exp });
    const times: number[] = [];
    for (let iter = 0; iter < 25; iter++) {
      const metrics = Array.from({ length: 1000 }, (_, i) => ({
        key: `m${i % keys}`,
        value: Math.random(),
        step: iter * 1000 + i,
        timestamp: Date.now(),
      }));
      const [d] = await timed(() => t.logBatch(run.info.run_id, { metrics }));
      times.push(d);
    }
    console.log(
      `log-batch(1000), ${label}: p50 ${ms(pct(times, 0.5))}, p90 ${ms(pct(times, 0.9))} (25 calls)`,
    );
  }

  // ---- search over 10,000 runs ----
  const searchExp = await t.createExperiment("bench-search");
  // Seeding is not what is measured: it goes through an in-process TrackingService on the same
  // table, without the audit log (whose gap-free chain serialises 10,000 creates).
  const seeder = new TrackingService({
    ...local.platform.deps,
    config: { artifactRoot: local.platform.deps.config.artifacts.root },
    audit: { append: async () => ({}) as never },
  });
  const [seedMs] = await timed(() =>
    pool(8, SEARCH_RUNS, async (i) => {
      const { run } = await seeder.createRun({ experiment_id: searchExp, start_time: 1_700_000_000_000 + i });
      await seeder.logBatch({
        run_id: run.info.run_id,
        metrics: [
          { key: "auc", value: ((i * 7919) % 1000) / 1000, step: 0, timestamp: 1 },
          { key: "loss", value: Math.random(), step: 0, timestamp: 1 },
        ],
        params: [
          { key: "lr", value: String(i % 10) },
          { key: "depth", value: String(i % 7) },
        ],
        tags: [{ key: "team", value: i % 2 ? "risk" : "growth" }],
      });
    }),
  );
  console.log(`seeded ${SEARCH_RUNS} runs in ${(seedMs / 1000).toFixed(1)} s`);
  const searchTimes: number[] = [];
  let matched = 0;
  for (let i = 0; i < 7; i++) {
    const [d, page] = await timed(() =>
      t.searchRuns([searchExp], {
        filter: "metrics.auc > 0.9 and params.lr != '3'",
        orderBy: ["metrics.loss DESC"],
        maxResults: 100,
      }),
    );
    searchTimes.push(d);
    matched = page.items.length;
  }
  console.log(
    `search-runs over ${SEARCH_RUNS} runs (metric filter + order_by, first page of 100, ${matched} returned): ` +
      `p50 ${ms(pct(searchTimes, 0.5))}, max ${ms(Math.max(...searchTimes))} (7 searches)`,
  );

  // ---- get-history of a 100,000-point metric ----
  const hrun = await t.createRun({ experiment_id: exp });
  for (let c = 0; c < 100; c++) {
    await t.logBatch(hrun.info.run_id, {
      metrics: Array.from({ length: 1000 }, (_, i) => ({
        key: "curve",
        value: Math.sin(c * 1000 + i),
        step: c * 1000 + i,
        timestamp: 1,
      })),
    });
  }
  const histTimes: number[] = [];
  const pagedTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [d, page] = await timed(() => t.getMetricHistory(hrun.info.run_id, "curve"));
    if (page.items.length !== 100_000) throw new Error(`expected 100000 points, got ${page.items.length}`);
    histTimes.push(d);
    const [d2, all] = await timed(() => t.metricHistory(hrun.info.run_id, "curve", 25_000));
    if (all.length !== 100_000) throw new Error(`expected 100000 points, got ${all.length}`);
    pagedTimes.push(d2);
  }
  console.log(`get-history, 100,000 points in one response: p50 ${ms(pct(histTimes, 0.5))} (3 reads)`);
  console.log(`get-history, 100,000 points in 4 pages of 25,000: p50 ${ms(pct(pagedTimes, 0.5))} (3 reads)`);
} finally {
  await local.close();
}
