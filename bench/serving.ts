/**
 * Serving benchmark: the same ONNX MLPs served with dynamic batching on and off, at
 * concurrency 1, 8 and 64 (single-row requests over HTTP, JSON tensors), against raw
 * in-process ONNX Runtime at batch 64, plus the router's overhead over calling the model
 * server directly. Run: node --import tsx bench/serving.ts [--provider cpu|webgpu] [--quick]
 * Prints a Markdown section for bench/RESULTS.md.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { buildMlp } from "./serving-onnx-mlp";

const { values } = parseArgs({
  options: {
    provider: { type: "string", default: "cpu" },
    quick: { type: "boolean", default: false },
    threads: { type: "string", default: "0" },
  },
});
const provider = values.provider as "cpu" | "webgpu";
const SECONDS = values.quick ? 1.5 : 5;
const MODELS = {
  heavy: { widths: [32, 4096, 4096, 1], seconds: SECONDS },
  small: { widths: [32, 256, 256, 1], seconds: Math.max(1.5, SECONDS * 0.6) },
} as const;
const CONCURRENCY = [1, 8, 64];
const MAX_BATCH = 64;

interface Result {
  rps: number;
  p50: number;
  p99: number;
  n: number;
  errors: number;
}

function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : Number.NaN;
}

/** POSTs a body over a keep-alive connection pool (node:http costs less CPU than fetch, and the CPU is shared). */
function post(agent: Agent, url: URL, body: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function load(
  url: string,
  concurrency: number,
  seconds: number,
  width: number,
  rows = 1,
): Promise<Result> {
  const data = Array.from({ length: rows }, () => Array.from({ length: width }, (_, i) => (i % 7) / 7));
  const body = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [rows, width], data }] });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const send = async () => {
    const t = performance.now();
    const ok = await post(agent, target, body);
    return { ms: performance.now() - t, ok };
  };
  // Warm-up: the first calls pay for connection setup and ORT's first-run allocations.
  await Promise.all(Array.from({ length: concurrency }, send));
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const r = await send();
        if (r.ok) lat.push(r.ms);
        else errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return {
    rps: (lat.length * rows) / elapsed,
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    n: lat.length,
    errors,
  };
}

async function rawOrt(bytes: Uint8Array, width: number, seconds: number): Promise<number> {
  const threads = Number(values.threads);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  const x = new Float32Array(width * MAX_BATCH).fill(0.3);
  const feeds = () => ({ input: new ort.Tensor("float32", x, [MAX_BATCH, width]) });
  await session.run(feeds());
  let rows = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await session.run(feeds());
    rows += MAX_BATCH;
  }
  const rate = rows / ((performance.now() - started) / 1000);
  await session.release();
  return rate;
}

function config(name: string, batching: boolean, width: number): string {
  return [
    `name: "${name}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${MAX_BATCH}`,
    `input [ { name: "input", data_type: TYPE_FP32, dims: [ ${width} ] } ]`,
    'output [ { name: "output", data_type: TYPE_FP32, dims: [ 1 ] } ]',
    batching ? "dynamic_batching { max_queue_delay_microseconds: 0 }" : "",
  ].join("\n");
}

const repo = mkdtempSync(join(tmpdir(), "keel-bench-"));
const bytes: Record<string, Uint8Array> = {};
for (const [kind, m] of Object.entries(MODELS)) {
  bytes[kind] = buildMlp({ widths: [...m.widths], seed: 11 });
  for (const batching of [true, false]) {
    const name = `${kind}_${batching ? "batched" : "unbatched"}`;
    mkdirSync(join(repo, name, "1"), { recursive: true });
    writeFileSync(join(repo, name, "config.pbtxt"), config(name, batching, m.widths[0]));
    writeFileSync(join(repo, name, "1", "model.onnx"), bytes[kind]);
  }
}

const child = spawn(
  process.execPath,
  ["--import", "tsx", join(import.meta.dirname, "serving-server.ts"), repo, provider, values.threads],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const port = await new Promise<number>((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const m = /READY (\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
  child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
});
const base = `http://127.0.0.1:${port}`;

const lines: string[] = [];
const out = (s: string) => {
  lines.push(s);
  console.error(s);
};
try {
  const load0 = loadavg()[0];
  out(`## Serving\n`);
  out(
    `Command: \`node --import tsx bench/serving.ts --provider ${provider} --threads ${values.threads}${values.quick ? " --quick" : ""}\` (${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} cores, load average ${load0.toFixed(1)} at start, ${SECONDS} s per point).`,
  );
  out(
    `Single-row JSON requests over loopback HTTP to Keel's model server in a child process; one instance per model (ONNX Runtime intra-op threads: ${values.threads === "0" ? "runtime default" : values.threads});`,
  );
  out(
    `max_batch_size ${MAX_BATCH}; batching = \`dynamic_batching { max_queue_delay_microseconds: 0 }\`. Provider: ${provider}.\n`,
  );
  const summary: Record<string, Record<string, Result>> = {};
  for (const [kind, m] of Object.entries(MODELS)) {
    out(`### ${kind} MLP ${m.widths.join("->")}\n`);
    out("| concurrency | batching | rows/s | p50 ms | p99 ms | requests | errors |");
    out("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    summary[kind] = {};
    for (const c of CONCURRENCY) {
      for (const batching of [false, true]) {
        const r = await load(
          `${base}/v2/models/${kind}_${batching ? "batched" : "unbatched"}/infer`,
          c,
          m.seconds,
          m.widths[0],
        );
        summary[kind][`${c}-${batching}`] = r;
        out(
          `| ${c} | ${batching ? "on" : "off"} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.n} | ${r.errors} |`,
        );
      }
    }
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    const mean = (model: string) => {
      const sum = Number(
        new RegExp(`keel_inference_batch_size_sum\\{model="${model}",version="1"\\} ([\\d.e+]+)`).exec(
          metrics,
        )?.[1],
      );
      const count = Number(
        new RegExp(`keel_inference_batch_size_count\\{model="${model}",version="1"\\} (\\d+)`).exec(
          metrics,
        )?.[1],
      );
      return (sum / count).toFixed(1);
    };
    out(
      `\n- mean rows per executed batch over the run: ${mean(`${kind}_batched`)} with batching, ${mean(`${kind}_unbatched`)} without`,
    );
    const raw = await rawOrt(bytes[kind], m.widths[0], m.seconds);
    const on = summary[kind]["64-true"].rps;
    const off = summary[kind]["64-false"].rps;
    out(
      `- batching speed-up at concurrency 64: **${(on / off).toFixed(1)}x** (${on.toFixed(0)} vs ${off.toFixed(0)} rows/s)`,
    );
    const clientBatches = await load(
      `${base}/v2/models/${kind}_unbatched/infer`,
      2,
      m.seconds,
      m.widths[0],
      MAX_BATCH,
    );
    out(
      `- raw in-process ONNX Runtime at batch ${MAX_BATCH} (in the load generator's process, no HTTP): ${raw.toFixed(0)} rows/s`,
    );
    out(
      `- through HTTP, single-row requests with dynamic batching reach **${((on / raw) * 100).toFixed(0)}%** of it; clients sending ${MAX_BATCH}-row requests (2 in flight) reach **${((clientBatches.rps / raw) * 100).toFixed(0)}%** (${clientBatches.rps.toFixed(0)} rows/s, p50 ${clientBatches.p50.toFixed(1)} ms)\n`,
    );
  }
  out("### Router overhead (small model, concurrency 1, sequential)\n");
  const direct = await load(`${base}/v2/models/small_batched/infer`, 1, MODELS.small.seconds, 32);
  const routed = await load(`${base}/v2/models/small-dep/infer`, 1, MODELS.small.seconds, 32);
  const direct2 = await load(`${base}/v2/models/small_batched/infer`, 1, MODELS.small.seconds, 32);
  out("| path | p50 ms | p99 ms | requests |");
  out("| --- | ---: | ---: | ---: |");
  out(
    `| model server directly (before) | ${direct.p50.toFixed(3)} | ${direct.p99.toFixed(3)} | ${direct.n} |`,
  );
  out(
    `| through the router (deployment) | ${routed.p50.toFixed(3)} | ${routed.p99.toFixed(3)} | ${routed.n} |`,
  );
  out(
    `| model server directly (after) | ${direct2.p50.toFixed(3)} | ${direct2.p99.toFixed(3)} | ${direct2.n} |`,
  );
  const baseline = Math.min(direct.p50, direct2.p50);
  out(
    `\n- router overhead at p50: **${(routed.p50 - baseline).toFixed(3)} ms** (deployment lookup from cache, traffic choice, outcome counters, backend call in process)`,
  );
  out(`- load average at end: ${loadavg()[0].toFixed(1)} (the machine is shared; figures are noisy)`);
  console.log(lines.join("\n"));
} finally {
  child.kill("SIGTERM");
  rmSync(repo, { recursive: true, force: true });
}
