/**
 * Data validation and training-serving skew figures on this machine:
 *  - a suite of 20 expectations (schema, ranges, sets, uniqueness, null rates, row count,
 *    freshness, 3 distribution checks against a reference profile) over 10M rows of Parquet
 *    with DuckDB (aim: under 5 s);
 *  - `features check-consistency` of 10,000 entities x 50 features (dynalite-backed DynamoDB
 *    online store, DuckDB offline store; aim: under 10 s).
 * Run: npm run bench -- validation   (KEEL_BENCH_ROWS sets the rows, default 10,000,000)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalPlatform } from "@keel/local";
import { DuckDbValidationEngine, defineExpectations, evaluateSuite } from "@keel/validation";
import { writeFeatureHistory, writeTransactions } from "../tests/validation/helpers";

const ROWS = Number(process.env.KEEL_BENCH_ROWS ?? 10_000_000);
const work = mkdtempSync(join(tmpdir(), "keel-bench-validation-"));
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function validation() {
  const path = join(work, "transactions.parquet");
  let t = performance.now();
  await writeTransactions(path, ROWS);
  console.log(`wrote ${ROWS.toLocaleString()} rows of Parquet in ${secs(performance.now() - t)}`);
  // The reference: a profile of a 2% shift of the same data (one bin per 100 units of amount).
  const edges = Array.from({ length: 9 }, (_, i) => (i + 1) * 100);
  const profile = {
    version: 1 as const,
    rows: 1000,
    features: ["amount", "txn_id", "amount_copy"].map((name) => ({
      name,
      edges: name === "txn_id" ? edges.map((e) => (e * ROWS) / 1000) : edges,
      counts: Array(10).fill(100),
      mean: 500,
      std: 288,
      min: 0,
      max: 1000,
      sample: Array.from({ length: 1000 }, (_, i) => (name === "txn_id" ? (i * ROWS) / 1000 : i)),
    })),
  };
  const suite = defineExpectations({
    name: "bench",
    expectations: [
      {
        kind: "schema",
        columns: {
          txn_id: { type: "integer", nullable: false },
          user_id: { type: "string", nullable: false },
          amount: { type: "number", nullable: false },
          country: { type: "string" },
          event_timestamp: { type: "timestamp", nullable: false },
        },
      },
      { kind: "range", column: "amount", min: 0, max: 1000 },
      { kind: "range", column: "txn_id", min: 0 },
      { kind: "in_set", column: "country", values: ["US", "GB", "FR"] },
      { kind: "unique", columns: ["txn_id"] },
      { kind: "unique", name: "user_country", columns: ["user_id", "country"], severity: "warn" },
      { kind: "null_rate", column: "amount", max: 0.01 },
      { kind: "null_rate", column: "user_id", max: 0.01 },
      { kind: "null_rate", column: "country", max: 0.01 },
      { kind: "null_rate", column: "event_timestamp", max: 0 },
      { kind: "null_rate", column: "txn_id", max: 0 },
      { kind: "row_count", min: 1 },
      { kind: "row_count", name: "row_cap", max: 100_000_000 },
      { kind: "freshness", column: "event_timestamp", maxAgeSeconds: 86_400 },
      { kind: "range", name: "amount_sane", column: "amount", max: 10_000, severity: "warn" },
      { kind: "in_set", name: "country_eu", column: "country", values: ["GB", "FR"], severity: "warn" },
      { kind: "distribution", column: "amount", maxPsi: 0.25 },
      { kind: "distribution", column: "txn_id", maxPsi: 0.25 },
      {
        kind: "distribution",
        name: "amount_ks",
        column: "amount",
        feature: "amount_copy",
        minKsPValue: 0.001,
        severity: "warn",
      },
      { kind: "null_rate", name: "amount_nulls_warn", column: "amount", max: 0, severity: "warn" },
    ],
  });
  const engine = new DuckDbValidationEngine();
  const times: number[] = [];
  let report: Awaited<ReturnType<typeof evaluateSuite>> | undefined;
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    report = await evaluateSuite(engine, suite, path, { reference: { profile, label: "bench" } });
    times.push(performance.now() - t);
  }
  await engine.close();
  times.sort((a, b) => a - b);
  console.log(
    `validation: ${suite.expectations.length} expectations over ${report!.rows.toLocaleString()} rows in ` +
      `${times.map(secs).join(" / ")} (3 runs, median ${secs(times[1])}; ${report!.scans} scans; ` +
      `${report!.errors} errors, ${report!.warnings} warnings)`,
  );
}

async function consistency() {
  const now = Date.now();
  const local = await startLocalPlatform({ port: 0 });
  try {
    const repo = await writeFeatureHistory(join(work, "user_stats"), {
      entities: 10_000,
      features: 50,
      nowMs: now,
    });
    const svc = local.platform.services.features;
    await svc.apply(repo);
    let t = performance.now();
    await svc.materialize({ views: ["user_stats"] });
    console.log(`materialized 10,000 entities x 50 features in ${secs(performance.now() - t)}`);
    for (let i = 0; i < 2; i++) {
      t = performance.now();
      const r = await svc.checkConsistency({ view: "user_stats", sample: 10_000 });
      console.log(
        `consistency: ${r.sampled.toLocaleString()} entities x ${r.features.length} features in ${secs(performance.now() - t)} ` +
          `(${r.passed ? "consistent" : `mismatch rate ${r.mismatchRate}`}; offline ${r.phasesMs.offline} ms, ` +
          `online ${r.phasesMs.online} ms, point-in-time ${r.phasesMs.pointInTime} ms)`,
      );
    }
  } finally {
    await local.close();
  }
}

try {
  await validation();
  await consistency();
} finally {
  rmSync(work, { recursive: true, force: true });
}
