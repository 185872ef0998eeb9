/**
 * Serving figures for the KServe v2 wire formats: the heavy MLP (32->4096->4096->1, dynamic
 * batching, max_batch_size 64) behind a separate `keel serve --grpc-port` process, single-row
 * requests at concurrency 64 as JSON tensors, as the binary tensor data extension (binary
 * outputs too) and as gRPC ModelInfer with raw_input_contents, each as a fraction of raw
 * in-process ONNX Runtime at batch 64 measured in the same run (before and after the loads).
 * Run: node --import tsx bench/serving-binary.ts [--seconds 5] [--threads 0]
 * Prints a Markdown section for bench/RESULTS.md.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { encodeBinaryRequest, PROTO_PATH } from "@keel/serving";
import * as ort from "onnxruntime-node";
import { buildMlp } from "./serving-onnx-mlp";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    threads: { type: "string", default: "0" },
    concurrency: { type: "string", default: "64" },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const WIDTHS = [32, 4096, 4096, 1];
const WIDTH = WIDTHS[0];
const MAX_BATCH = 64;

interface Result {
  rps: number;
  p50: number;
  p99: number;
  n: number;
  errors: number;
}

const percentile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : Number.NaN;

/** Runs `send` from `concurrency` callers for `seconds` after one warm-up round. */
async function drive(send: () => Promise<boolean>): Promise<Result> {
  const timed = async () => {
    const t = performance.now();
    const ok = await send().catch(() => false);
    return { ms: performance.now() - t, ok };
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, timed));
  const lat: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const r = await timed();
        if (r.ok) lat.push(r.ms);
        else errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  return {
    rps: lat.length / elapsed,
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    n: lat.length,
    errors,
  };
}

/** One HTTP POST on a keep-alive pool; resolves true on a 200 whose body was read. */
function post(agent: Agent, url: URL, headers: Record<string, string | number>, body: Uint8Array) {
  return new Promise<boolean>((resolve, reject) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const row = Float32Array.from({ length: WIDTH }, (_, i) => (i % 7) / 7);

function jsonLoad(url: URL): Promise<Result> {
  const body = Buffer.from(
    JSON.stringify({
      inputs: [{ name: "input", datatype: "FP32", shape: [1, WIDTH], data: Array.from(row) }],
    }),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers = { "content-type": "application/json", "content-length": body.byteLength };
  return drive(() => post(agent, url, headers, body)).finally(() => agent.destroy());
}

function binaryLoad(url: URL): Promise<Result> {
  const { body, headerLength } = encodeBinaryRequest({
    inputs: [{ name: "input", datatype: "FP32", shape: [1, WIDTH], data: row }],
  });
  // binary_data_output: splice it into the header (the encoder writes inputs only).
  const header = JSON.parse(Buffer.from(body.subarray(0, headerLength)).toString());
  const head = Buffer.from(JSON.stringify({ ...header, parameters: { binary_data_output: true } }));
  const full = Buffer.concat([head, body.subarray(headerLength)]);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers = {
    "content-type": "application/octet-stream",
    "inference-header-content-length": head.byteLength,
    "content-length": full.byteLength,
  };
  return drive(() => post(agent, url, headers, full)).finally(() => agent.destroy());
}

function grpcLoad(port: number): Promise<Result> {
  const def = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, defaults: true });
  // biome-ignore lint/suspicious/noExplicitAny: the client is generated from the proto at run time
  const pkg = grpc.loadPackageDefinition(def) as any;
  const client = new pkg.inference.GRPCInferenceService(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  );
  const req = {
    model_name: "heavy",
    inputs: [{ name: "input", datatype: "FP32", shape: [1, WIDTH] }],
    raw_input_contents: [Buffer.from(row.buffer)],
  };
  return drive(
    () =>
      new Promise<boolean>((resolve) =>
        client.ModelInfer(req, (err: Error | null, res: { raw_output_contents: Buffer[] }) =>
          resolve(!err && res.raw_output_contents[0].byteLength === 4),
        ),
      ),
  ).finally(() => client.close());
}

async function rawOrt(bytes: Uint8Array): Promise<number> {
  const threads = Number(values.threads);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ["cpu"],
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  const x = new Float32Array(WIDTH * MAX_BATCH).fill(0.3);
  const feeds = () => ({ input: new ort.Tensor("float32", x, [MAX_BATCH, WIDTH]) });
  await session.run(feeds());
  let rows = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    await session.run(feeds());
    rows += MAX_BATCH;
  }
  const rate = rows / ((performance.now() - started) / 1000);
  await session.release();
  return rate;
}

const repo = mkdtempSync(join(tmpdir(), "keel-bench-binary-"));
const bytes = buildMlp({ widths: WIDTHS, seed: 11 });
mkdirSync(join(repo, "heavy", "1"), { recursive: true });
writeFileSync(
  join(repo, "heavy", "config.pbtxt"),
  [
    'name: "heavy"',
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${MAX_BATCH}`,
    `input [ { name: "input", data_type: TYPE_FP32, dims: [ ${WIDTH} ] } ]`,
    'output [ { name: "output", data_type: TYPE_FP32, dims: [ 1 ] } ]',
    "dynamic_batching { max_queue_delay_microseconds: 0 }",
  ].join("\n"),
);
writeFileSync(join(repo, "heavy", "1", "model.onnx"), bytes);

const keel = join(import.meta.dirname, "../packages/cli/bin/keel.mjs");
const args = [
  "serve",
  "--model-repository",
  repo,
  "--port",
  "0",
  "--grpc-port",
  "0",
  "--threads",
  values.threads,
];
// KEEL_BENCH_PROFILE=<dir> writes a CPU profile of the server there (written when it stops).
const profile = process.env.KEEL_BENCH_PROFILE
  ? ["--cpu-prof", `--cpu-prof-dir=${process.env.KEEL_BENCH_PROFILE}`]
  : [];
const child = spawn(process.execPath, [...profile, keel, ...args], { stdio: ["ignore", "pipe", "inherit"] });
const ports = await new Promise<{ http: number; grpc: number }>((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const http = /ready at http:\/\/[^:]+:(\d+)/.exec(out);
    const g = /gRPC .* at [^:]+:(\d+)/.exec(out);
    if (http && g) resolve({ http: Number(http[1]), grpc: Number(g[1]) });
  });
  child.once("exit", (code) => reject(new Error(`keel serve exited with ${code}`)));
});

/**
 * CPU seconds the server's main thread (its event loop: HTTP, routing, parsing, batching,
 * answers; not the inference worker) has used, from /proc (Linux); NaN elsewhere. Unlike
 * rows/s, CPU per request hardly moves with the load other work puts on a shared machine.
 */
function serverLoopCpu(): number {
  try {
    const stat = readFileSync(`/proc/${child.pid}/task/${child.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
  } catch {
    return Number.NaN;
  }
}

/** Runs one load and notes the server's event-loop CPU per answered request. */
async function measured(load: () => Promise<Result>): Promise<Result & { cpuUs: number }> {
  const before = serverLoopCpu();
  const r = await load();
  return { ...r, cpuUs: ((serverLoopCpu() - before) / (r.n + CONCURRENCY)) * 1e6 };
}

const lines: string[] = [];
const out = (s: string) => {
  lines.push(s);
  console.error(s);
};
try {
  const url = new URL(`http://127.0.0.1:${ports.http}/v2/models/heavy/infer`);
  out("## Serving: JSON vs binary tensors vs gRPC\n");
  out(
    `Command: \`node --import tsx bench/serving-binary.ts --seconds ${SECONDS} --threads ${values.threads}\` (${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} cores shared with other work, load average ${loadavg()[0].toFixed(1)} at start, ${SECONDS} s per point).`,
  );
  out(
    `Heavy MLP ${WIDTHS.join("->")} served by \`keel serve --grpc-port 0\` in a child process (one instance, dynamic batching with no added delay, max_batch_size ${MAX_BATCH}); ${CONCURRENCY} callers in the load generator's process, single-row requests, keep-alive HTTP/1.1 or one gRPC channel; raw ONNX Runtime runs batches of ${MAX_BATCH} in the load generator's process (intra-op threads: ${values.threads === "0" ? "runtime default" : values.threads}).\n`,
  );
  const rawBefore = await rawOrt(bytes);
  const results: Array<[string, Result & { cpuUs: number }]> = [
    ["JSON tensors", await measured(() => jsonLoad(url))],
    ["binary tensor data extension (binary in and out)", await measured(() => binaryLoad(url))],
    ["gRPC ModelInfer (raw_input_contents)", await measured(() => grpcLoad(ports.grpc))],
  ];
  const rawAfter = await rawOrt(bytes);
  const raw = (rawBefore + rawAfter) / 2;
  out(
    "| wire format | rows/s | of raw ORT | p50 ms | p99 ms | requests | errors | server event-loop CPU per request |",
  );
  out("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, r] of results)
    out(
      `| ${name} | ${r.rps.toFixed(0)} | **${((r.rps / raw) * 100).toFixed(0)}%** | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.n} | ${r.errors} | ${r.cpuUs.toFixed(0)} µs |`,
    );
  out(
    `\n- raw in-process ONNX Runtime at batch ${MAX_BATCH}: ${rawBefore.toFixed(0)} rows/s before the loads, ${rawAfter.toFixed(0)} after (mean ${raw.toFixed(0)} is the 100%)`,
  );
  out(`- load average at end: ${loadavg()[0].toFixed(1)} (the machine is shared; figures are noisy)`);
  console.log(lines.join("\n"));
} finally {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
  rmSync(repo, { recursive: true, force: true });
}
