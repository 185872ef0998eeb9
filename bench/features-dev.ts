/**
 * Online features through a running `keel dev` (issue 12): the server runs as its own process on
 * an on-disk data dir after the quickstart; this client sends
 * `POST /api/v1/features/get-online-features` for the fraud example's `fraud_v1`, one entity
 * per request, over keep-alive HTTP: p50/p99 with 1 caller, throughput and p50/p99 with 64
 * callers, and `GET /health` on the same server as the floor.
 *
 * Run: npx keel dev --data-dir /tmp/keel-bench &   (wait for "Quickstart complete")
 *      node --import tsx bench/features-dev.ts --url http://localhost:<port> [--seconds 10]
 */
import { Agent, request } from "node:http";

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const url = new URL(arg("--url", "http://localhost:5000"));
const seconds = Number(arg("--seconds", "10"));
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];

function send(method: string, path: string, body?: string): Promise<number> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        agent,
        headers: body
          ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
          : {},
      },
      (r) => {
        r.resume();
        r.on("end", () =>
          r.statusCode === 200 ? res(performance.now() - t0) : rej(new Error(`${path}: ${r.statusCode}`)),
        );
      },
    );
    req.on("error", rej);
    req.end(body);
  });
}

const user = (i: number) => `u${String(i % 1000).padStart(5, "0")}`;
const featuresBody = (i: number) =>
  JSON.stringify({ feature_service: "fraud_v1", entities: { user_id: [user(i)] } });

async function run(label: string, callers: number, call: (i: number) => Promise<number>) {
  let n = 0;
  for (let i = 0; i < 200; i++) await call(i); // warm-up
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) lat.push(await call(n++));
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(28)} callers ${String(callers).padStart(2)}: ${(lat.length / secs).toFixed(0).padStart(6)} req/s, p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms`,
  );
}

const features = (i: number) => send("POST", "/api/v1/features/get-online-features", featuresBody(i));
const health = () => send("GET", "/health");
await run("/health", 1, health);
await run("get-online-features fraud_v1", 1, features);
await run("/health", 64, health);
await run("get-online-features fraud_v1", 64, features);
agent.destroy();
