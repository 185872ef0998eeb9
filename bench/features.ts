/**
 * Feature store figures on this machine:
 *  - online reads over HTTP (POST /api/v1/features/get-online-features), 1 entity x 50
 *    features and 100 entities x 50 features, p50/p99, per online store, next to the store's
 *    own read latency (OnlineStore.read in the same process, same run): the difference is
 *    what Keel adds (HTTP, validation, Feast JSON);
 *  - materialization rows/s into each store;
 *  - point-in-time joins (DuckDB over Parquet) of 1e6 feature rows x 1e5 entity rows and
 *    1e7 x 1e6.
 * Cassandra is started with scripts/cql/start-cql.sh (port 19043) and stopped at the end.
 * Run: node --import tsx bench/features.ts [--skip-dynamodb] [--skip-cql] [--skip-large]
 * (KEEL_BENCH_ENTITIES sets the number of materialized entities, default 5000)
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadConfig } from "@keel/core";
import {
  DuckDbOfflineStore,
  encodeEntityKey,
  FeatureCatalog,
  type FeatureRepoInput,
  type FeaturesModule,
  type FeaturesService,
  getHistoricalFeatures,
} from "@keel/features";
import { startLocalPlatform } from "@keel/local";

const args = new Set(process.argv.slice(2));
const ROOT = resolve(import.meta.dirname, "..");
const work = mkdtempSync(join(tmpdir(), "keel-bench-features-"));
const FEATURES = 50;
const ENTITIES = Number(process.env.KEEL_BENCH_ENTITIES ?? 5_000);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms`;

async function sql(statements: string[]): Promise<void> {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  for (const s of statements) await c.run(s);
  c.closeSync();
  db.closeSync();
}

/** A 50-feature view over ENTITIES drivers, one row each, as Parquet. */
async function onlineRepo(): Promise<FeatureRepoInput> {
  const dir = join(work, "wide");
  mkdirSync(dir, { recursive: true });
  const cols = Array.from({ length: FEATURES }, (_, i) => `random() AS f${i}`).join(", ");
  await sql([
    `COPY (SELECT range AS driver_id, TIMESTAMP '2026-01-01' + INTERVAL (range % 3600) SECOND AS event_timestamp, ${cols} FROM range(${ENTITIES})) TO '${dir}/part-0.parquet' (FORMAT PARQUET)`,
  ]);
  return {
    entities: [{ kind: "entity", name: "driver", joinKey: "driver_id", valueType: "int64" }],
    sources: [{ kind: "file_source", name: "wide_source", path: `${dir}/` }],
    featureViews: [
      {
        kind: "feature_view",
        name: "wide",
        entities: ["driver"],
        schema: Array.from({ length: FEATURES }, (_, i) => ({ name: `f${i}`, dtype: "float64" as const })),
        ttlSeconds: 0,
        source: "wide_source",
      },
    ],
    featureServices: [{ kind: "feature_service", name: "wide_all", features: ["wide"] }],
  };
}

async function onlineBench(label: string, config: Parameters<typeof startLocalPlatform>[0]) {
  const local = await startLocalPlatform({ port: 0, ...config });
  try {
    const service: FeaturesService = local.platform.services.features;
    const { online } = local.platform.modules.find((m) => m.name === "features") as unknown as FeaturesModule;
    await service.apply(await onlineRepo());
    const t0 = performance.now();
    const [m] = await service.materialize();
    const secs = (performance.now() - t0) / 1000;
    console.log(
      `${label}: materialized ${m.written} entities x ${FEATURES} features in ${secs.toFixed(2)} s = ${(m.written / secs).toFixed(0)} rows/s`,
    );

    const url = `${local.url}/api/v1/features/get-online-features`;
    const call = async (ids: number[]) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ feature_service: "wide_all", entities: { driver_id: ids } }),
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      await res.json();
    };
    for (const n of [1, 100]) {
      const runs = n === 1 ? 2000 : 300;
      const http: number[] = [];
      const store: number[] = [];
      const inProcess: number[] = [];
      const pick = () => Array.from({ length: n }, () => Math.floor(Math.random() * ENTITIES));
      for (let i = 0; i < 50; i++) await call(pick()); // warm up connections, caches, JIT
      // Interleaved, so both see the same machine load.
      for (let i = 0; i < runs; i++) {
        const ids = pick();
        let t = performance.now();
        await online.read(
          "wide",
          ids.map((id) => encodeEntityKey([id])),
        );
        store.push(performance.now() - t);
        t = performance.now();
        await service.getOnlineFeatures({ feature_service: "wide_all", entities: { driver_id: ids } });
        inProcess.push(performance.now() - t);
        t = performance.now();
        await call(ids);
        http.push(performance.now() - t);
      }
      const addP50 = pct(http, 50) - pct(store, 50);
      const addP99 = pct(http, 99) - pct(store, 99);
      console.log(
        `${label}: ${n} entit${n === 1 ? "y" : "ies"} x ${FEATURES} features (${runs} requests): HTTP ${fmt(http)}; service in process ${fmt(inProcess)}; store read ${fmt(store)}; Keel adds p50 ${addP50.toFixed(2)} ms, p99 ${addP99.toFixed(2)} ms`,
      );
    }
    // 64 readers, 1 entity each: the store read and the HTTP call each with 64 in flight, in
    // alternating phases (two rounds, so both see the same machine load).
    const readers = 64;
    const concurrent = async (fn: () => Promise<unknown>) => {
      const lat: number[] = [];
      await Promise.all(
        Array.from({ length: readers }, async () => {
          for (let i = 0; i < 30; i++) {
            const t = performance.now();
            await fn();
            lat.push(performance.now() - t);
          }
        }),
      );
      return lat;
    };
    const one = () => Math.floor(Math.random() * ENTITIES);
    const store64: number[] = [];
    const http64: number[] = [];
    for (let round = 0; round < 2; round++) {
      store64.push(...(await concurrent(() => online.read("wide", [encodeEntityKey([one()])]))));
      http64.push(...(await concurrent(() => call([one()]))));
    }
    console.log(
      `${label}: 1 entity x ${FEATURES} features, ${readers} readers (${http64.length} requests): HTTP ${fmt(http64)}; store read ${fmt(store64)}; Keel adds p50 ${(pct(http64, 50) - pct(store64, 50)).toFixed(2)} ms, p99 ${(pct(http64, 99) - pct(store64, 99)).toFixed(2)} ms`,
    );
  } finally {
    await local.close();
  }
}

async function pitBench(featureRows: number, entityRows: number) {
  const dir = join(work, `pit-${featureRows}`);
  mkdirSync(dir, { recursive: true });
  const keys = Math.max(1, Math.floor(featureRows / 10));
  await sql([
    `COPY (SELECT (hash(range) % ${keys})::BIGINT AS driver_id, TIMESTAMP '2026-01-01' + INTERVAL (hash(range * 7) % 2592000) SECOND AS event_timestamp, random() AS conv_rate, (hash(range * 13) % 100)::BIGINT AS trips FROM range(${featureRows})) TO '${dir}/features.parquet' (FORMAT PARQUET)`,
    `COPY (SELECT (hash(range + 1) % ${keys})::BIGINT AS driver_id, TIMESTAMP '2026-01-01' + INTERVAL (hash(range * 11) % 2592000) SECOND AS event_timestamp, range AS request_id FROM range(${entityRows})) TO '${dir}/entities.parquet' (FORMAT PARQUET)`,
  ]);
  const catalog = new FeatureCatalog({
    entities: [{ kind: "entity", name: "driver", joinKey: "driver_id", valueType: "int64" }],
    sources: [{ kind: "file_source", name: "stats_source", path: `${dir}/features.parquet` }],
    featureViews: [
      {
        kind: "feature_view",
        name: "stats",
        entities: ["driver"],
        schema: [
          { name: "conv_rate", dtype: "float64" },
          { name: "trips", dtype: "int64" },
        ],
        ttlSeconds: 7 * 86400,
        source: "stats_source",
      },
    ],
  });
  const offline = new DuckDbOfflineStore({ root: work });
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const r = await getHistoricalFeatures(offline, catalog, {
      entities: { path: `${dir}/entities.parquet` },
      features: ["stats:conv_rate", "stats:trips"],
      outPath: `${dir}/out-${i}.parquet`,
    });
    times.push(performance.now() - t);
    if (r.rowCount !== entityRows) throw new Error(`expected ${entityRows} rows, got ${r.rowCount}`);
    if (featureRows >= 10_000_000) break;
  }
  await offline.close();
  console.log(
    `PIT join ${featureRows.toExponential(0)} feature rows x ${entityRows.toExponential(0)} entity rows (Parquet out): ${times.map((t) => `${(t / 1000).toFixed(2)} s`).join(", ")} (best ${(Math.min(...times) / 1000).toFixed(2)} s)`,
  );
}

/** dynalite in a child process: the store out of Keel's process, as DynamoDB is in AWS. */
async function externalDynalite(): Promise<{ endpoint: string; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "-e",
      `import("@keel/metadata").then(async (m) => { const s = await m.startDynalite(); console.log(s.endpoint); })`,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  const endpoint = await new Promise<string>((res, rej) => {
    child.stdout.once("data", (d) => res(String(d).trim()));
    child.once("exit", (c) => rej(new Error(`dynalite exited with ${c}`)));
  });
  return { endpoint, stop: () => child.kill("SIGTERM") };
}

const cqlEnv = {
  ...process.env,
  CQL_DIR: join(ROOT, ".tmp", "cql-node-bench"),
  CQL_PORT: "19043",
  CQL_FRESH: "1",
};
try {
  console.log(`machine: ${(await import("node:os")).cpus().length} cores (shared; figures are noisy)`);
  if (!args.has("--skip-dynamodb")) {
    await onlineBench("DynamoDB (dynalite in process, as keel dev)", {});
    const ext = await externalDynalite();
    try {
      await onlineBench("DynamoDB (dynalite, own process)", {
        config: { core: { dynamodbEndpoint: ext.endpoint } },
      });
    } finally {
      ext.stop();
    }
  }
  if (!args.has("--skip-cql")) {
    execFileSync(join(ROOT, "scripts/cql/start-cql.sh"), { env: cqlEnv, stdio: "inherit" });
    try {
      await onlineBench("Cassandra 2.1 (CQL v3)", {
        config: {
          features: {
            onlineStore: "cql",
            cql: {
              ...loadConfig({}).features.cql,
              contactPoints: ["127.0.0.1:19043"],
              keyspace: "keel_bench",
            },
          },
        },
      });
    } finally {
      execFileSync(join(ROOT, "scripts/cql/stop-cql.sh"), {
        env: { ...cqlEnv, CQL_PURGE: "1" },
        stdio: "inherit",
      });
    }
  }
  await pitBench(1_000_000, 100_000);
  if (!args.has("--skip-large")) await pitBench(10_000_000, 1_000_000);
} finally {
  rmSync(work, { recursive: true, force: true });
}
