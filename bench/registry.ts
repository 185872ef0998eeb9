/**
 * Registry and audit figures (recorded under "## Registry and audit" in bench/RESULTS.md):
 * - registry operations p50/p95 over real HTTP on the local platform (dynalite in memory);
 * - audit append throughput with 16 concurrent writers, sharing one log (one process, as
 *   `keel dev` runs) and with one log each (as 16 Lambda invocations race);
 * - `keel audit verify` over 100,000 events: in process, and the real CLI on a data dir.
 *
 * Run: node --import tsx bench/registry.ts [--events 100000] [--only ops|append|verify]
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { type AuditEvent, auditItem, GENESIS_HASH, hashEvent, StoreAuditLog } from "@keel/audit";
import { digest, ROLES, withContext } from "@keel/core";
import { startLocalPlatform } from "@keel/local";
import {
  DynamoDbMetadataStore,
  localPaths,
  type MetadataStore,
  SqliteMetadataStore,
  startDynalite,
} from "@keel/metadata";

const ROOT = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: { events: { type: "string", default: "100000" }, only: { type: "string" } },
});
const VERIFY_EVENTS = Number(values.events);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function timed(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

async function registryOps() {
  const local = await startLocalPlatform({ port: 0 });
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${local.url}/api/2.0/mlflow${path}`, {
      method,
      headers: { "content-type": "application/json", "x-keel-principal": "bench" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  };
  const rows: Array<[string, number[]]> = [];
  rows.push([
    "create registered model",
    await timed(50, (i) => call("POST", "/registered-models/create", { name: `m${i}` })),
  ]);
  rows.push([
    "create model version",
    await timed(100, (i) =>
      call("POST", "/model-versions/create", { name: `m${i % 10}`, source: `s3://b/${i}` }),
    ),
  ]);
  rows.push([
    "get model version",
    await timed(200, (i) => call("GET", `/model-versions/get?name=m${i % 10}&version=1`)),
  ]);
  rows.push([
    "get registered model",
    await timed(100, (i) => call("GET", `/registered-models/get?name=m${i % 10}`)),
  ]);
  rows.push([
    "set alias",
    await timed(50, (i) =>
      call("POST", "/registered-models/alias", { name: `m${i % 10}`, alias: `a${i}`, version: "1" }),
    ),
  ]);
  rows.push([
    "transition stage (unprotected)",
    await timed(50, (i) =>
      call("POST", "/model-versions/transition-stage", {
        name: `m${i % 10}`,
        version: "2",
        stage: "Staging",
      }),
    ),
  ]);
  rows.push([
    "search model versions (name =)",
    await timed(50, (i) =>
      call("GET", `/model-versions/search?filter=${encodeURIComponent(`name = 'm${i % 10}'`)}`),
    ),
  ]);
  await local.close();
  console.log("\n| registry operation (HTTP, local) | n | p50 | p95 |\n| --- | --- | --- | --- |");
  for (const [name, xs] of rows)
    console.log(`| ${name} | ${xs.length} | ${ms(pct(xs, 50))} | ${ms(pct(xs, 95))} |`);
}

async function appendThroughput() {
  console.log(
    "\n| audit append, 16 concurrent writers | events | seconds | events/s | verify |\n| --- | --- | --- | --- | --- |",
  );
  for (const mode of ["one shared log (one process)", "a log per writer (16 processes)"] as const) {
    const server = await startDynalite();
    const store = new DynamoDbMetadataStore({ table: "bench", endpoint: server.endpoint });
    await store.ensureTable();
    const shared = new StoreAuditLog(store);
    const perWriter = mode.startsWith("one") ? 125 : 25;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, (_, w) =>
        withContext({ principal: `w${w}`, requestId: `r${w}`, roles: ROLES }, async () => {
          const log = mode.startsWith("one") ? shared : new StoreAuditLog(store);
          for (let i = 0; i < perWriter; i++) {
            await log.append({
              action: "bench.append",
              resource: `w:${w}`,
              state: { i, note: "x".repeat(200) },
            });
          }
        }),
      ),
    );
    const secs = (performance.now() - t) / 1000;
    const verified = await shared.verify();
    console.log(
      `| ${mode} | ${16 * perWriter} | ${secs.toFixed(2)} | ${((16 * perWriter) / secs).toFixed(0)} | ${verified.ok ? `ok ${verified.count}` : "FAILED"} |`,
    );
    await store.close();
    await server.close();
  }
}

/** Writes a valid chain of n events straight into the table (the append path is measured above). */
async function writeChain(store: MetadataStore, n: number) {
  let prevHash = GENESIS_HASH;
  const t0 = Date.UTC(2026, 0, 1);
  for (let start = 1; start <= n; start += 5000) {
    const items = [];
    for (let seq = start; seq < Math.min(n + 1, start + 5000); seq++) {
      const state = {
        name: `model-${seq % 97}`,
        version: seq % 13,
        source: `s3://models/${seq}`,
        stage: "None",
      };
      const base = {
        seq,
        time: t0 + seq,
        principal: `user-${seq % 7}`,
        action: "registry.version.create",
        resource: `model:model-${seq % 97}/version:${seq % 13}`,
        stateDigest: digest(state),
        requestId: `req-${seq}`,
        prevHash,
      };
      const e: AuditEvent = { ...base, hash: hashEvent(base), state };
      prevHash = e.hash;
      items.push(auditItem(e));
    }
    await store.batchPut(items);
  }
}

/** Runs `keel <args>` through bash's `time` (the child's CPU seconds, which the machine's load does not inflate much). */
async function timeCli(args: string, bundle: string) {
  const t = performance.now();
  const { stdout, stderr } = await promisify(execFile)(
    "bash",
    [
      "-c",
      `TIMEFORMAT='%U %S'; time "${process.execPath}" packages/cli/bin/keel.mjs ${args} 2>/dev/null >/tmp/.keel-bench-out-$$; cat /tmp/.keel-bench-out-$$ | tail -1; rm -f /tmp/.keel-bench-out-$$`,
    ],
    { cwd: ROOT, maxBuffer: 1 << 20, env: { ...process.env, KEEL_CLI_BUNDLE: bundle } },
  );
  const [user, sys] = stderr.trim().split(/\s+/).slice(-2).map(Number);
  return { wall: (performance.now() - t) / 1000, cpu: user + sys, stdout };
}

async function verifyLarge() {
  // KEEL_BENCH_AUDIT_DIR=<dir>: write the chain there and keep it (to profile `keel audit verify` on it).
  const keep = process.env.KEEL_BENCH_AUDIT_DIR;
  const dataDir = keep ? resolve(keep) : await mkdtemp(join(tmpdir(), "keel-bench-audit-"));
  try {
    // The data dir as keel dev keeps it: the metadata store in SQLite.
    const store = new SqliteMetadataStore({ path: localPaths(dataDir).sqlite });
    let t = performance.now();
    await writeChain(store, VERIFY_EVENTS);
    const writeSecs = (performance.now() - t) / 1000;
    t = performance.now();
    const cpu = process.cpuUsage();
    const r = await new StoreAuditLog(store).verify();
    const inProcess = (performance.now() - t) / 1000;
    const used = process.cpuUsage(cpu);
    await store.close();
    // The CLI both ways, alternately: through tsx (the TypeScript sources, KEEL_CLI_BUNDLE=0) and
    // from the prebuilt bundle (packages/cli/bin/bundle.mjs, built here if not current).
    await promisify(execFile)(process.execPath, ["packages/cli/bin/bundle.mjs", "--if-stale"], { cwd: ROOT });
    console.log(
      `\n| audit verify, ${VERIFY_EVENTS} events (SQLite data dir) | wall s | CPU s |\n| --- | --- | --- |`,
    );
    console.log(`| write the chain (BatchWrite, setup only) | ${writeSecs.toFixed(1)} | |`);
    console.log(
      `| StoreAuditLog.verify() in process (${r.ok ? `ok ${r.count}` : "FAILED"}) | ${inProcess.toFixed(2)} | ${((used.user + used.system) / 1e6).toFixed(2)} |`,
    );
    for (const round of [1, 2]) {
      for (const [how, bundle] of [
        ["tsx", "0"],
        ["bundle", "1"],
      ]) {
        const help = await timeCli("--help", bundle);
        const v = await timeCli(`audit verify --data-dir "${dataDir}"`, bundle);
        console.log(
          `| \`keel --help\` (${how}, round ${round}) | ${help.wall.toFixed(2)} | ${help.cpu.toFixed(2)} |`,
        );
        console.log(
          `| \`keel audit verify --data-dir\` end to end, incl. CLI start (${how}, round ${round}: ${v.stdout.trim()}) | ${v.wall.toFixed(2)} | ${v.cpu.toFixed(2)} |`,
        );
      }
    }
  } finally {
    if (!keep) await rm(dataDir, { recursive: true, force: true });
  }
}

const load = (await import("node:os")).loadavg()[0].toFixed(1);
console.log(
  `# bench/registry.ts on ${new Date().toISOString()} (node ${process.version}, load average ${load})`,
);
const only = values.only;
if (!only || only === "ops") await registryOps();
if (!only || only === "append") await appendThroughput();
if (!only || only === "verify") await verifyLarge();
