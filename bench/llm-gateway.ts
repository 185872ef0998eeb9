/**
 * The LLM gateway's overhead (issue 15): the same client calls the fake OpenAI-compatible
 * upstream directly and through the gateway (the whole platform, `keel dev` style, with a
 * virtual key, key limits, input+output PII guardrails and usage logging on), at 64
 * concurrent callers. Reports p50/p99 of both and their difference, the added time to first
 * token for streams, throughput of 64 concurrent streams, and rate-limit accuracy under 64
 * callers. The upstream and the gateway each run in their own process; this one only sends.
 *
 * Usage: npm run bench -- llm-gateway [--requests 3000] [--streams 640]
 * (LLM_BENCH_CPU_PROF=<dir> writes CPU profiles of the gateway and upstream processes there)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startLocalPlatform } from "@keel/local";
import { startFakeOpenAI } from "../tests/helpers/openai-upstream";

const { values, positionals } = parseArgs({
  options: {
    requests: { type: "string", default: "3000" },
    streams: { type: "string", default: "640" },
    role: { type: "string" },
  },
  allowPositionals: true,
});
const REQUESTS = Number(values.requests);
const STREAMS = Number(values.streams);
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
  const f = await startFakeOpenAI({ chunkSize: 8 });
  console.log(`READY ${f.baseURL}`);
}

/** The gateway: the whole local platform, a guarded route, a key with (high) limits and a 100-rpm key. */
async function serveGateway(upstream: string): Promise<void> {
  const p = await startLocalPlatform({ port: 0, config: { http: { maxInFlight: 0 } } });
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

async function once(
  url: string,
  key: string,
  stream: boolean,
): Promise<{ ms: number; ttft: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: body(stream),
  });
  let ttft = 0;
  if (stream && res.body) {
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      if (!ttft && /"content":"[^"]/.test(decoder.decode(chunk as Uint8Array))) ttft = performance.now() - t0;
    }
  } else await res.arrayBuffer();
  return { ms: performance.now() - t0, ttft, status: res.status };
}

async function load(n: number, fn: () => Promise<{ ms: number; ttft: number; status: number }>) {
  const results: Array<{ ms: number; ttft: number; status: number }> = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) results.push(await fn());
    }),
  );
  return { results, seconds: (performance.now() - t0) / 1000 };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f2 = (x: number) => x.toFixed(2);

// A clean exit on SIGTERM, so a child's CPU profile (LLM_BENCH_CPU_PROF) is written.
if (values.role) process.once("SIGTERM", () => process.exit(0));
if (values.role === "upstream") await serveUpstream();
else if (values.role === "gateway") await serveGateway(positionals[0]);
else await measure();

async function measure(): Promise<void> {
  const upstream = await child("upstream");
  const gateway = await child("gateway", upstream.words[0]);
  const [gatewayUrl, key, limitedKey, openKey] = gateway.words;
  const direct = upstream.words[0];
  const via = `${gatewayUrl}/llm/v1`;
  try {
    // Warm both paths (JIT, connections, caches) before measuring.
    await load(300, () => once(direct, "x", false));
    await load(300, () => once(via, key, false));

    // Interleave rounds so both paths see the same machine load.
    const d: number[] = [];
    const g: number[] = [];
    const o: number[] = [];
    let errors = 0;
    let cpuMain = 0;
    let cpuAll = 0;
    let upCpu = 0;
    for (let round = 0; round < 3; round++) {
      const u0 = cpuOf(upstream.proc.pid as number);
      const a = await load(REQUESTS / 3, () => once(direct, "x", false));
      upCpu += cpuOf(upstream.proc.pid as number).main - u0.main;
      const c0 = cpuOf(gateway.proc.pid as number);
      const b = await load(REQUESTS / 3, () => once(via, key, false));
      const c1 = cpuOf(gateway.proc.pid as number);
      cpuMain += c1.main - c0.main;
      cpuAll += c1.all - c0.all;
      const c = await load(REQUESTS / 3, () => once(via, openKey, false));
      o.push(...c.results.map((r) => r.ms));
      d.push(...a.results.map((r) => r.ms));
      g.push(...b.results.map((r) => r.ms));
      errors += b.results.filter((r) => r.status !== 200).length;
    }
    console.log(`non-streaming, ${REQUESTS} requests each path, ${CONCURRENCY} concurrent (ms):`);
    console.log(`  direct   p50 ${f2(pct(d, 50))}  p99 ${f2(pct(d, 99))}`);
    console.log(`  gateway  p50 ${f2(pct(g, 50))}  p99 ${f2(pct(g, 99))}  errors ${errors}`);
    console.log(`  gateway, key without limits  p50 ${f2(pct(o, 50))}  p99 ${f2(pct(o, 99))}`);
    console.log(`  gateway CPU per request: main thread ${((cpuMain / REQUESTS) * 1e6).toFixed(0)} us, process ${((cpuAll / REQUESTS) * 1e6).toFixed(0)} us; upstream ${((upCpu / REQUESTS) * 1e6).toFixed(0)} us`);
    console.log(`  overhead p50 ${f2(pct(g, 50) - pct(d, 50))}  p99 ${f2(pct(g, 99) - pct(d, 99))}`);

    const sd = await load(STREAMS, () => once(direct, "x", true));
    const sg = await load(STREAMS, () => once(via, key, true));
    const td = sd.results.map((r) => r.ttft);
    const tg = sg.results.map((r) => r.ttft);
    const streamErrors = sg.results.filter((r) => r.status !== 200 || !r.ttft).length;
    console.log(
      `streaming, ${STREAMS} streams each path, ${CONCURRENCY} concurrent (time to first content, ms):`,
    );
    console.log(`  direct   p50 ${f2(pct(td, 50))}  p99 ${f2(pct(td, 99))}`);
    console.log(
      `  gateway  p50 ${f2(pct(tg, 50))}  p99 ${f2(pct(tg, 99))}  (output guardrail window: 64 chars)`,
    );
    console.log(`  added TTFT p50 ${f2(pct(tg, 50) - pct(td, 50))}  p99 ${f2(pct(tg, 99) - pct(td, 99))}`);
    console.log(
      `  throughput ${(STREAMS / sg.seconds).toFixed(0)} streams/s through the gateway, errors ${streamErrors}`,
    );

    // Rate-limit accuracy: a key allowed 100 requests per minute, 640 requests from 64 callers.
    const t0 = performance.now();
    const rl = await load(640, () => once(via, limitedKey, false));
    const elapsedMin = (performance.now() - t0) / 60_000;
    const admitted = rl.results.filter((r) => r.status === 200).length;
    const refused = rl.results.filter((r) => r.status === 429).length;
    const allowed = 100 + Math.floor(100 * elapsedMin);
    console.log(
      `rate limit 100 rpm, 640 requests from ${CONCURRENCY} callers in ${(elapsedMin * 60).toFixed(1)} s: ` +
        `admitted ${admitted} (bucket allows ${allowed}), refused ${refused} with 429`,
    );
  } finally {
    gateway.proc.kill("SIGTERM");
    upstream.proc.kill("SIGTERM");
  }
}

function cpuOf(pid: number): { main: number; all: number } {
  const ticks = (path: string) => {
    const stat = readFileSync(path, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  return { main: ticks(`/proc/${pid}/task/${pid}/stat`), all: ticks(`/proc/${pid}/stat`) };
}
