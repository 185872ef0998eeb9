/**
 * Runs every benchmark under bench/ (or the ones named: `npm run bench -- tracking serving`),
 * one after another in its own process, so each gets the machine to itself. Flags after the
 * names go to each benchmark (`npm run bench -- soak --minutes 3`). The soak (10 minutes by
 * default) runs only when named.
 * Each benchmark prints its figures; record them in bench/RESULTS.md with the command used.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const firstFlag = process.argv.slice(2).findIndex((a) => a.startsWith("--"));
const wanted = firstFlag < 0 ? process.argv.slice(2) : process.argv.slice(2, 2 + firstFlag);
const flags = firstFlag < 0 ? [] : process.argv.slice(2 + firstFlag);
const ONLY_WHEN_NAMED = ["soak"];
const all = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.includes("-"))
  .map((f) => f.replace(/\.ts$/, ""))
  .sort();
const chosen = wanted.length ? wanted : all.filter((n) => !ONLY_WHEN_NAMED.includes(n));
for (const name of chosen) {
  // A hyphenated benchmark (e.g. llm-gateway) runs when named; other hyphenated files are helpers.
  if (!all.includes(name) && !(wanted.includes(name) && existsSync(join(here, `${name}.ts`)))) {
    console.error(`no benchmark '${name}' (have: ${all.join(", ")})`);
    process.exit(2);
  }
}
let failed = 0;
for (const name of chosen) {
  console.log(`\n=== bench/${name}.ts ===`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(here, `${name}.ts`), ...flags], {
    stdio: "inherit",
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
