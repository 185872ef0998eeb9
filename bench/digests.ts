/**
 * Approved-bytes benchmark: loading a ~100 MB ONNX model with its SHA-256 computed at load
 * (what the model server does for every version), the first production request (load +
 * verification against the approval's pinned digest) and the per-request cost of the check
 * once verified (a cached lookup; nothing is hashed per request).
 * Run: node --import tsx bench/digests.ts. Prints a Markdown section for bench/RESULTS.md.
 */
import { cpus, loadavg } from "node:os";
import { StoreAuditLog } from "@keel/audit";
import { createLogger, systemClock } from "@keel/core";
import { ApprovedBytes, InProcessBackend, ModelServer, sha256Hex } from "@keel/serving";
import { freshMetadataStore } from "../tests/helpers/metadata";
import { buildMlp } from "./serving-onnx-mlp";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

// 256 -> 5000 -> 5000 -> 1: ~26.3 M float32 weights, ~105 MB.
const bytes = buildMlp({ widths: [256, 5000, 5000, 1], seed: 3 });
const mb = bytes.byteLength / 2 ** 20;
const digest = sha256Hex(bytes);
const meta = await freshMetadataStore();
const audit = new StoreAuditLog(meta.store, systemClock);
const log = createLogger("error");
const approvals = {
  productionApproval: async () => ({
    approvedBy: "bob",
    approvedAt: 0,
    sourceUri: "mlflow-artifacts:/1/run/artifacts/model",
    digests: { "model.onnx": digest },
  }),
};
const resolver = {
  resolve: async () => ({ version: "1", artifactPath: "1/run/artifacts/model/model.onnx" }),
  isAllowed: async () => true,
};

const hashMs: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  sha256Hex(bytes);
  hashMs.push(performance.now() - t);
}

const loadMs: number[] = [];
const firstMs: number[] = [];
const row = {
  inputs: [{ name: "input", datatype: "FP32", shape: [1, 256], data: new Array(256).fill(0.5) }],
};
let server: ModelServer | undefined;
let guarded: InProcessBackend | undefined;
let plain: InProcessBackend | undefined;
for (let i = 0; i < 3; i++) {
  await server?.close();
  server = new ModelServer({ intraOpNumThreads: 1, log });
  const s = server;
  const guard = new ApprovedBytes(approvals, resolver, audit, systemClock, log);
  guarded = new InProcessBackend(
    s,
    "big",
    "1",
    async () => {
      const t = performance.now();
      await s.loadBytes("big", "1", bytes);
      loadMs.push(performance.now() - t);
    },
    (d) => guard.check("big-prod", "big", "1", d),
  );
  plain = new InProcessBackend(s, "big", "1");
  const t = performance.now();
  await guarded.infer(row as never);
  firstMs.push(performance.now() - t);
}

// Per-request: the same request through the guarded and the plain backend, interleaved.
const N = 2000;
const withCheck: number[] = [];
const without: number[] = [];
for (let i = 0; i < N; i++) {
  let t = performance.now();
  await (guarded as InProcessBackend).infer(row as never);
  withCheck.push(performance.now() - t);
  t = performance.now();
  await (plain as InProcessBackend).infer(row as never);
  without.push(performance.now() - t);
}
// The check alone (what the guarded backend adds): digest lookup + verified-set lookup.
const guard = new ApprovedBytes(approvals, resolver, audit, systemClock, log);
const s = server as ModelServer;
await guard.check("big-prod", "big", "1", s.digest("big", "1"));
const checkUs: number[] = [];
for (let i = 0; i < 100_000; i++) {
  const t = performance.now();
  await guard.check("big-prod", "big", "1", s.digest("big", "1"));
  checkUs.push((performance.now() - t) * 1000);
}
await s.close();

const f = (x: number, d = 1) => x.toFixed(d);
console.log(`## Approved bytes (digest verification)

Command: \`node --import tsx bench/digests.ts\` (Node ${process.versions.node}, ${cpus().length} vCPUs,
load average ${loadavg()[0].toFixed(1)} at the end). Model: MLP 256-5000-5000-1, ${f(mb)} MiB ONNX,
loaded from bytes into Keel's model server (1 instance, 1 intra-op thread).

| measure | result |
| --- | --- |
| SHA-256 of the ${f(mb)} MiB model file alone | median ${f(median(hashMs))} ms (of 5) |
| model load incl. SHA-256 at load (\`loadBytes\`) | median ${f(median(loadMs))} ms (of 3) |
| first production request: load + verification against the pinned digest + inference | median ${f(median(firstMs))} ms (of 3) |
| the check per request once verified (digest lookup + cached verdict), 100,000 calls | p50 ${f(median(checkUs), 2)} us, p99 ${f(pct(checkUs, 0.99), 2)} us |
| single-row inference, guarded backend vs plain (${N} interleaved each) | p50 ${f(median(withCheck), 3)} ms vs ${f(median(without), 3)} ms |
`);
process.exit(0);
