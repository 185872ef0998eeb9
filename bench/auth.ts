/**
 * What access control adds per request, in process (`app.request`, no sockets), on a cheap
 * route (`GET /metrics`, permission `read`):
 * - the permission check (matched route → table → roles) against the same app without it;
 * - `keel dev --auth`: a Bearer token verified against the users store (the user cached by
 *   the server that owns it, scrypt verified once per token).
 *
 * Run: node --import tsx bench/auth.ts [--requests 5000]
 */
import { parseArgs } from "node:util";
import { createApp } from "@keel/app";
import { startLocalPlatform } from "@keel/local";

const { values } = parseArgs({ options: { requests: { type: "string", default: "5000" } } });
const N = Number(values.requests);
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor((p / 100) * (xs.length - 1))];

type App = { request: (path: string, init?: RequestInit) => Response | Promise<Response> };
async function latencies(app: App, headers: Record<string, string> = {}): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < N + 500; i++) {
    const t = process.hrtime.bigint();
    await (await app.request("/metrics", { headers })).arrayBuffer();
    if (i >= 500) xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return xs;
}

const laptop = await startLocalPlatform({ port: 0 });
const users = await startLocalPlatform({ port: 0, auth: "users" });
try {
  const { modules, access } = laptop.platform;
  const without = createApp(modules, { access: { ...access, enforce: async (_c, next) => next() } });
  const { token } = await users.platform.access.users.add("bench", ["viewer"]);
  const auth = { authorization: `Bearer ${token}` };
  for (let round = 1; round <= 2; round++) {
    const base = await latencies(without);
    const checked = await latencies(laptop.platform.app);
    const authed = await latencies(users.platform.app, auth);
    const row = (name: string, xs: number[]) =>
      `${name.padEnd(34)} p50 ${pct(xs, 50).toFixed(3)} ms  p99 ${pct(xs, 99).toFixed(3)} ms`;
    console.log(`round ${round} (${N} requests each)`);
    console.log(row("no permission check", base));
    console.log(row("permission check (laptop)", checked));
    console.log(row("--auth Bearer + permission check", authed));
    console.log(
      `added p50: check ${(pct(checked, 50) - pct(base, 50)).toFixed(3)} ms, ` +
        `--auth ${(pct(authed, 50) - pct(base, 50)).toFixed(3)} ms`,
    );
  }
} finally {
  await laptop.close();
  await users.close();
}
