/**
 * The LLM gateway's overhead (issue 15): the same client calls the fake OpenAI-compatible
 * upstream directly and through the gateway (the whole platform, `keel dev` style, with a
 * virtual key, key limits, input+output PII guardrails and usage logging on). The upstream and
 * the gateway each run in their own process; this process is the load client only (undici
 * keep-alive pools, 64 connections per path) and reads the gateway's CPU time from /proc.
 *
 * One run prints:
 *  (i)   closed loop, 64 callers: direct and gateway p50/p99 and their difference;
 *  (ii)  open loop (wrk2-style) at a fixed rate below the direct path's capacity over 64
 *        connections: each request's latency is measured from its scheduled send time (no
 *        coordinated omission); direct and gateway p50/p99 and their difference;
 *  (iii) the overhead the gateway reports itself (`x-keel-overhead-ms`) p50/p99 under both;
 *  (iv)  the gateway's CPU per request (its main thread, and the whole process with the
 *        in-memory DynamoDB's thread), and the upstream's for scale;
 *  (v)   streaming: added time to first token, streams/s at 64 concurrent streams, and
 *        rate-limit accuracy of a 100-rpm key under 64 callers;
 *  (vi)  cold: the overhead of 64 callers on a key idle past its 2 s cache and lease time;
 *  (vii) the gateway's garbage collections (scavenges pause the event loop: the p99's rest).
 *
 * Usage: npm run bench -- llm-gateway [--requests 3000] [--streams 640] [--rate auto|<req/s>] [--open-seconds 10]
 * (LLM_BENCH_CPU_PROF=<dir> writes CPU profiles of the gateway and upstream processes there;
 * LLM_BENCH_HEAP_PROF=<file> a sampling heap profile of what the gateway allocated;
 * LLM_BENCH_NODE_FLAGS="--perf-basic-prof" lets `perf record -g -p <gateway pid>` name JS frames)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startLocalPlatform } from "@keel/local";
import { Pool } from "undici";
import { startFakeOpenAI } from "../tests/helpers/openai-upstream";

const { values, positionals } = parseArgs({
  options: {
    requests: { type: "string", default: "3000" },
    streams: { type: "string", default: "640" },
    rate: { type: "string", default: "auto" },
    "open-seconds": { type: "string", default: "10" },
    role: { type: "string" },
  },
  allowPositionals: true,
});
const REQUESTS = Number(values.requests);
const STREAMS = Number(values.streams);
const OPEN_SECONDS = Number(values["open-seconds"]);
const CONCURRENCY = 64;

/** Runs this file in a child process as `role`; resolves with the words of its READY line. */
function child(...args: string[]): Promise<{ proc: ChildProcess; words: string[] }> {
  const proc = spawn(
    process.execPath,
    [
      // LLM_BENCH_CPU_PROF=<dir>: a V8 CPU profile of each child (upstream, gateway) in <dir>.
      ...(process.env.LLM_BENCH_CPU_PROF
        ? ["--cpu-prof", "--cpu-prof-dir", process.env.LLM_BENCH_CPU_PROF]
        : []),
      // e.g. LLM_BENCH_NODE_FLAGS=--perf-basic-prof, to sample the gateway with `perf record -p <pid>`.
      ...(process.env.LLM_BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--role",
      ...args,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: {
        ...process.env,
        KEEL_LOG_LEVEL: "error",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
    },
  );
  return new Promise((resolve, reject) => {
    let buf = "";
    proc.stdout?.on("data", (d) => {
      buf += d;
      const m = /READY (.*)\n/.exec(buf);
      if (m) resolve({ proc, words: m[1].split(" ") });
    });
    proc.once("exit", (code) => reject(new Error(`child exited ${code} before READY`)));
  });
}

/** The upstream: the fake OpenAI-compatible server of the tests. */
async function serveUpstream(): Promise<void> {
  const f = await startFakeOpenAI({ chunkSize: 8, keepRequests: false });
  console.log(`READY ${f.baseURL}`);
}

/** The gateway: the whole local platform as `keel dev` runs it (on-disk data dir, `front`), a guarded route, a key with (high) limits and a 100-rpm key. */
async function serveGateway(upstream: string): Promise<void> {
  // Its garbage collections (young-generation scavenges pause the event loop), written on exit.
  const pauses: { kind: string; ms: number }[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      pauses.push({ kind: kind === constants.NODE_PERFORMANCE_GC_MINOR ? "minor" : "major", ms: e.duration });
    }
  }).observe({ entryTypes: ["gc"] });
  // LLM_BENCH_HEAP_PROF=<file>: a sampling heap profile of everything the gateway allocated
  // (collected objects included: where the scavenges' garbage comes from), written on exit.
  if (process.env.LLM_BENCH_HEAP_PROF) {
    const session = new Session();
    session.connect();
    session.post("HeapProfiler.startSampling", {
      samplingInterval: 8192,
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    } as object);
    process.once("exit", () =>
      session.post("HeapProfiler.stopSampling", (_e, r) =>
        writeFileSync(process.env.LLM_BENCH_HEAP_PROF as string, JSON.stringify(r.profile)),
      ),
    );
  }
  if (process.env.LLM_BENCH_GC_OUT)
    process.once("exit", () => writeFileSync(process.env.LLM_BENCH_GC_OUT as string, JSON.stringify(pauses)));
  // Admission as `keel dev` has it: `front` unless KEEL_ADMISSION names another policy.
  const admission = process.env.KEEL_ADMISSION === undefined ? { admission: "front" as const } : {};
  // An on-disk data dir, as `keel dev` has (the metadata store in SQLite there); LLM_BENCH_IN_MEMORY=1:
  // the in-memory dynalite the tests use (the figures of the rounds before this one).
  const dataDir = process.env.LLM_BENCH_IN_MEMORY
    ? undefined
    : mkdtempSync(join(tmpdir(), "keel-llm-bench-"));
  const p = await startLocalPlatform({
    port: 0,
    dataDir,
    config: { http: { maxInFlight: 0, ...admission } },
  });
  process.once("exit", () => dataDir && rmSync(dataDir, { recursive: true, force: true }));
  const call = async (method: string, path: string, body: unknown) =>
    (await (
      await p.platform.app.request(path, {
        method,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      })
    ).json()) as { key: string };
  const deployment = {
    id: "d",
    provider: "openai",
    model: "fake-chat",
    baseURL: upstream,
    price: { input: 0.001, output: 0.002 },
  };
  await call("PUT", "/api/v1/llm/routes/chat", {
    deployments: [deployment],
    guardrails: { input: "redact", output: "redact" },
  });
  const big = await call("POST", "/api/v1/llm/keys", {
    name: "bench",
    team: "bench",
    limits: { rpm: 10_000_000, tpm: 1_000_000_000 },
  });
  const limited = await call("POST", "/api/v1/llm/keys", {
    name: "limited",
    team: "limited",
    limits: { rpm: 100 },
  });
  const open = await call("POST", "/api/v1/llm/keys", { name: "open", team: "open" });
  console.log(`READY ${p.url} ${big.key} ${limited.key} ${open.key}`);
}

const body = (stream: boolean) =>
  JSON.stringify({
    model: "chat",
    messages: [{ role: "user", content: "Summarise the account history for this customer in two lines." }],
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
const BODY = body(false);
const STREAM_BODY = body(true);

interface Result {
  ms: number;
  ttft: number;
  status: number;
  /** The gateway's own `x-keel-overhead-ms` (NaN on the direct path). */
  overhead: number;
}

/** One path (direct or through the gateway): a keep-alive pool of 64 connections and its request path. */
interface Path {
  pool: Pool;
  path: string;
  key: string;
}

function pathTo(baseUrl: string, key: string): Path {
  const u = new URL(baseUrl);
  return {
    pool: new Pool(u.origin, { connections: CONCURRENCY, pipelining: 1 }),
    path: `${u.pathname.replace(/\/+$/, "")}/chat/completions`,
    key,
  };
}

/** One request; `t0` is when it was due (open loop) or sent (closed loop). */
async function once(p: Path, stream: boolean, t0 = performance.now()): Promise<Result> {
  try {
    const res = await p.pool.request({
      method: "POST",
      path: p.path,
      headers: { "content-type": "application/json", authorization: `Bearer ${p.key}` },
      body: stream ? STREAM_BODY : BODY,
    });
    const overhead = Number(res.headers["x-keel-overhead-ms"] ?? Number.NaN);
    let ttft = 0;
    if (stream) {
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        if (!ttft && /"content":"[^"]/.test(decoder.decode(chunk as Uint8Array)))
          ttft = performance.now() - t0;
      }
    } else await res.body.dump({ limit: 1 << 20 });
    return { ms: performance.now() - t0, ttft, status: res.statusCode, overhead };
  } catch {
    return { ms: performance.now() - t0, ttft: 0, status: 0, overhead: Number.NaN };
  }
}

/** Runs `fn` while `p` gets one request every 200 ms (not measured): keeps a key in use. */
async function warm<T>(p: Path, fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => void once(p, false), 200);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** Closed loop: `CONCURRENCY` callers, each sending its next request when its last one answered. */
async function closed(n: number, fn: () => Promise<Result>) {
  const results: Result[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) results.push(await fn());
    }),
  );
  return { results, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Open loop (wrk2-style): request i is due at start + i / rate whatever the answers do, over the
 * path's 64 connections (a request waits for a free one, and that wait counts); its latency runs
 * from the time it was due, so a stall shows in every request it delays.
 */
async function open(p: Path, rate: number, seconds: number) {
  const n = Math.max(1, Math.round(rate * seconds));
  const pending: Promise<Result>[] = [];
  const start = performance.now();
  let i = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      while (i < n && start + (i * 1000) / rate <= now) {
        pending.push(once(p, false, start + (i * 1000) / rate));
        i++;
      }
      if (i >= n) done();
      else setTimeout(tick, Math.max(0, start + (i * 1000) / rate - performance.now()));
    };
    tick();
  });
  return Promise.all(pending);
}

const pct = (xs: number[], p: number) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : Number.NaN;
};
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);

/** CPU seconds (utime + stime) of a process's main thread and of the whole process, from /proc (Linux). */
function cpuOf(pid: number | undefined): { main: number; all: number } {
  const ticks = (path: string) => {
    try {
      const stat = readFileSync(path, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return Number.NaN;
    }
  };
  return { main: ticks(`/proc/${pid}/task/${pid}/stat`), all: ticks(`/proc/${pid}/stat`) };
}

/** Runs `fn` and adds the CPU a process used meanwhile to `acc`. */
async function metered<T>(pid: number | undefined, acc: { main: number; all: number }, fn: () => Promise<T>) {
  const a = cpuOf(pid);
  const r = await fn();
  const b = cpuOf(pid);
  acc.main += b.main - a.main;
  acc.all += b.all - a.all;
  return r;
}
const us = (seconds: number, n: number) => ((seconds / n) * 1e6).toFixed(0);

// A clean exit on SIGTERM, so a child's CPU profile (LLM_BENCH_CPU_PROF) is written.
if (values.role) process.once("SIGTERM", () => process.exit(0));
if (values.role === "upstream") await serveUpstream();
else if (values.role === "gateway") await serveGateway(positionals[0]);
else await measure();

async function measure(): Promise<void> {
  const upstream = await child("upstream");
  const gcOut = join(tmpdir(), `llm-bench-gc-${process.pid}.json`);
  process.env.LLM_BENCH_GC_OUT = gcOut;
  const gateway = await child("gateway", upstream.words[0]);
  const [gatewayUrl, key, limitedKey, openKey] = gateway.words;
  const gpid = gateway.proc.pid;
  const upid = upstream.proc.pid;
  const direct = pathTo(upstream.words[0], "x");
  const via = pathTo(`${gatewayUrl}/llm/v1`, key);
  const viaOpen = pathTo(`${gatewayUrl}/llm/v1`, openKey);
  const viaLimited = pathTo(`${gatewayUrl}/llm/v1`, limitedKey);
  console.log(`gateway pid ${gpid}, upstream pid ${upid} (for perf record -p)`);
  console.log(
    `load average at start ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  try {
    // Warm both paths (JIT, connections, caches) before measuring.
    await closed(600, () => once(direct, false));
    await closed(600, () => once(via, false));

    // (i) Closed loop, rounds interleaved so both paths see the same machine load.
    const d: Result[] = [];
    const g: Result[] = [];
    const o: Result[] = [];
    const gCpu = { main: 0, all: 0 };
    const uCpu = { main: 0, all: 0 };
    let dSeconds = 0;
    let gSeconds = 0;
    // While the direct path runs, the gateway's key gets one request every 200 ms (not measured),
    // as a key in use does: idle past the 2 s its record and leases are kept, the next round's
    // first callers would wait on the store (the cold case, measured in (vi)). The key without
    // limits runs after the others, for the same reason.
    for (let round = 0; round < 3; round++) {
      const a = await warm(via, () =>
        metered(upid, uCpu, () => closed(REQUESTS / 3, () => once(direct, false))),
      );
      const b = await metered(gpid, gCpu, () => closed(REQUESTS / 3, () => once(via, false)));
      d.push(...a.results);
      g.push(...b.results);
      dSeconds += a.seconds;
      gSeconds += b.seconds;
    }
    await closed(64, () => once(viaOpen, false));
    for (let round = 0; round < 3; round++)
      o.push(...(await closed(REQUESTS / 3, () => once(viaOpen, false))).results);
    const ms = (rs: Result[]) => rs.map((r) => r.ms);
    const errs = (rs: Result[]) => rs.filter((r) => r.status !== 200).length;
    console.log(
      `(i) closed loop, non-streaming, ${REQUESTS} requests each path, ${CONCURRENCY} callers (ms):`,
    );
    console.log(
      `  direct   p50 ${f2(pct(ms(d), 50))}  p99 ${f2(pct(ms(d), 99))}  (${(REQUESTS / dSeconds).toFixed(0)} req/s)`,
    );
    console.log(
      `  gateway  p50 ${f2(pct(ms(g), 50))}  p99 ${f2(pct(ms(g), 99))}  (${(REQUESTS / gSeconds).toFixed(0)} req/s)  errors ${errs(g)}`,
    );
    console.log(`  gateway, key without limits  p50 ${f2(pct(ms(o), 50))}  p99 ${f2(pct(ms(o), 99))}`);
    console.log(
      `  difference p50 ${f2(pct(ms(g), 50) - pct(ms(d), 50))}  p99 ${f2(pct(ms(g), 99) - pct(ms(d), 99))}`,
    );

    // (ii) Open loop at a fixed rate below the direct path's (and the gateway's) capacity.
    const rate =
      values.rate === "auto"
        ? Math.max(10, Math.round(Math.min(0.25 * (REQUESTS / dSeconds), 0.5 * (REQUESTS / gSeconds))))
        : Number(values.rate);
    const od: Result[] = [];
    const og: Result[] = [];
    const oCpu = { main: 0, all: 0 };
    for (let round = 0; round < 2; round++) {
      od.push(...(await warm(via, () => open(direct, rate, OPEN_SECONDS / 2))));
      og.push(...(await metered(gpid, oCpu, () => open(via, rate, OPEN_SECONDS / 2))));
    }
    console.log(
      `(ii) open loop, non-streaming, ${rate} req/s for ${OPEN_SECONDS} s each path over ${CONCURRENCY} connections, latency from the scheduled send (ms):`,
    );
    console.log(`  direct   p50 ${f2(pct(ms(od), 50))}  p99 ${f2(pct(ms(od), 99))}  errors ${errs(od)}`);
    console.log(`  gateway  p50 ${f2(pct(ms(og), 50))}  p99 ${f2(pct(ms(og), 99))}  errors ${errs(og)}`);
    console.log(
      `  difference p50 ${f2(pct(ms(og), 50) - pct(ms(od), 50))}  p99 ${f2(pct(ms(og), 99) - pct(ms(od), 99))}`,
    );

    // (iii) What the gateway reports itself.
    const ov = (rs: Result[]) => rs.map((r) => r.overhead);
    console.log("(iii) gateway-reported overhead, x-keel-overhead-ms (ms):");
    console.log(`  closed loop, 64 callers  p50 ${f3(pct(ov(g), 50))}  p99 ${f3(pct(ov(g), 99))}`);
    console.log(`  open loop, ${rate} req/s    p50 ${f3(pct(ov(og), 50))}  p99 ${f3(pct(ov(og), 99))}`);

    // (iv) CPU per request.
    console.log(
      "(iv) CPU per non-streaming request (µs; main thread = the event loop, process = with dynalite's thread):",
    );
    console.log(
      `  gateway, closed loop: main thread ${us(gCpu.main, g.length)}, process ${us(gCpu.all, g.length)}`,
    );
    console.log(
      `  gateway, open loop:   main thread ${us(oCpu.main, og.length)}, process ${us(oCpu.all, og.length)}`,
    );
    console.log(`  upstream (fake, node:http), closed loop: ${us(uCpu.main, d.length)}`);

    // (v) Streaming, throughput, rate-limit accuracy.
    const sd = await warm(via, () => closed(STREAMS, () => once(direct, true)));
    const sg = await closed(STREAMS, () => once(via, true));
    const td = sd.results.map((r) => r.ttft);
    const tg = sg.results.map((r) => r.ttft);
    const streamErrors = sg.results.filter((r) => r.status !== 200 || !r.ttft).length;
    console.log(
      `(v) streaming, ${STREAMS} streams each path, ${CONCURRENCY} concurrent (time to first content, ms):`,
    );
    console.log(`  direct   p50 ${f2(pct(td, 50))}  p99 ${f2(pct(td, 99))}`);
    console.log(
      `  gateway  p50 ${f2(pct(tg, 50))}  p99 ${f2(pct(tg, 99))}  (output guardrail window: 64 chars)`,
    );
    console.log(`  added TTFT p50 ${f2(pct(tg, 50) - pct(td, 50))}  p99 ${f2(pct(tg, 99) - pct(td, 99))}`);
    console.log(
      `  gateway-reported overhead to the first chunk p50 ${f3(pct(ov(sg.results), 50))}  p99 ${f3(pct(ov(sg.results), 99))}`,
    );
    console.log(
      `  throughput ${(STREAMS / sg.seconds).toFixed(0)} streams/s through the gateway, errors ${streamErrors}`,
    );

    // Rate-limit accuracy: a key allowed 100 requests per minute, 640 requests from 64 callers.
    const t0 = performance.now();
    const rl = await closed(640, () => once(viaLimited, false));
    const elapsedMin = (performance.now() - t0) / 60_000;
    const admitted = rl.results.filter((r) => r.status === 200).length;
    const refused = rl.results.filter((r) => r.status === 429).length;
    const allowed = 100 + Math.floor(100 * elapsedMin);
    console.log(
      `  rate limit 100 rpm, 640 requests from ${CONCURRENCY} callers in ${(elapsedMin * 60).toFixed(1)} s: ` +
        `admitted ${admitted} (bucket allows ${allowed}), refused ${refused} with 429`,
    );

    // (vi) Cold: 64 callers at once on a key idle past the 2 s its record and leases are kept
    // (revocation elsewhere binds within that; unused units go back): they wait on store reads.
    await new Promise((r) => setTimeout(r, 2500));
    const cold = (await closed(64, () => once(via, false))).results;
    console.log(
      `(vi) cold: 64 callers after 2.5 s idle, x-keel-overhead-ms p50 ${f3(pct(ov(cold), 50))}  max ${f3(pct(ov(cold), 100))}`,
    );
    console.log(
      `load average at end ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
    );
  } finally {
    await Promise.all([direct, via, viaOpen, viaLimited].map((p) => p.pool.close().catch(() => undefined)));
    const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${gateway.proc.pid}/status`, "utf8"))?.[1];
    if (hwm) console.log(`(vii) gateway peak RSS ${(Number(hwm) / 1024).toFixed(0)} MB`);
    const exited = new Promise((r) => gateway.proc.once("exit", r));
    gateway.proc.kill("SIGTERM");
    upstream.proc.kill("SIGTERM");
    await exited;
    try {
      const pauses = JSON.parse(readFileSync(gcOut, "utf8")) as { kind: string; ms: number }[];
      for (const kind of ["minor", "major"]) {
        const ms = pauses.filter((x) => x.kind === kind).map((x) => x.ms);
        if (ms.length)
          console.log(
            `(vii) gateway ${kind} GC over the whole run: ${ms.length} pauses, ${ms.reduce((a, b) => a + b, 0).toFixed(0)} ms in all, p50 ${f2(pct(ms, 50))} ms, max ${f2(pct(ms, 100))} ms`,
          );
      }
    } catch {
      // no GC figures (the gateway did not exit cleanly)
    }
  }
}
