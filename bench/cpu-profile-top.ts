/**
 * Where a process's main thread spent its time, from a `node --cpu-prof` profile (a helper, not
 * a benchmark): the functions with the most self time and, for Keel's own code and its
 * dependencies, the most total time (self plus callees), over the whole profile or only its
 * last `--last-s` seconds (e.g. the soak's overload phase before the server was stopped).
 * Run: node --import tsx bench/cpu-profile-top.ts <file.cpuprofile> [--last-s 70] [--top 25]
 *   (profile from `npm run bench -- soak ... --server-cpu-prof <dir>`)
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "last-s": { type: "string" }, top: { type: "string", default: "25" } },
});
const profile = JSON.parse(readFileSync(positionals[0], "utf8")) as Profile;
const top = Number(values.top);
const parent = new Map<number, number>();
const byId = new Map<number, ProfileNode>();
for (const n of profile.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}
const name = (f: CallFrame) =>
  `${f.functionName || "(anonymous)"} ${f.url.replace(/^file:\/\//, "").replace(/.*\/node_modules\//, "~/")}:${f.lineNumber + 1}`;

// Sample times (µs since start); keep those in the window asked for.
const times: number[] = [];
let t = profile.startTime;
for (const d of profile.timeDeltas) {
  t += d;
  times.push(t);
}
const from = values["last-s"] ? profile.endTime - Number(values["last-s"]) * 1e6 : profile.startTime;
const self = new Map<string, number>();
const total = new Map<string, number>();
let all = 0;
let idle = 0;
for (let i = 0; i < profile.samples.length; i++) {
  if (times[i] < from) continue;
  const dt = (times[i + 1] ?? profile.endTime) - times[i];
  const node = byId.get(profile.samples[i]) as ProfileNode;
  all += dt;
  const own = name(node.callFrame);
  if (node.callFrame.functionName === "(idle)") idle += dt;
  self.set(own, (self.get(own) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const f = (byId.get(id) as ProfileNode).callFrame;
    if (!f.url) continue;
    const key = name(f);
    if (seen.has(key)) continue;
    seen.add(key);
    total.set(key, (total.get(key) ?? 0) + dt);
  }
}
const pct = (us: number) => `${((100 * us) / all).toFixed(1)}%`;
console.log(`${(all / 1e6).toFixed(1)} s sampled, idle ${pct(idle)}`);
const table = (title: string, m: Map<string, number>, filter: (k: string) => boolean = () => true) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m]
    .filter(([k]) => filter(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    console.log(`${pct(us).padStart(6)}  ${(us / 1e6).toFixed(2).padStart(7)} s  ${k}`);
};
table("self time", self);
table("total time, Keel's code (packages/)", total, (k) => k.includes("/packages/"));
