/**
 * The whole quickstart's wall time, as `npm start` runs it on an empty data dir: the local
 * platform's start, then every quickstart task (1,000 users, 40 days, ~59k transactions).
 * Run: node --import tsx bench/quickstart.ts [--users 1000] [--days 40]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLocalPlatform } from "@keel/local";
import { runQuickstart } from "../examples/fraud-detection/src/quickstart";

const { values } = parseArgs({
  options: { users: { type: "string", default: "1000" }, days: { type: "string", default: "40" } },
});
const dataDir = mkdtempSync(join(tmpdir(), "keel-bench-quickstart-"));
const rows: Array<[string, number]> = [];
const started = performance.now();
const cpu0 = process.cpuUsage();
try {
  const local = await startLocalPlatform({
    port: 0,
    dataDir,
    config: { registry: { autoApproveStages: ["Production"] } },
  });
  rows.push(["platform start (until `Keel is ready`)", performance.now() - started]);
  try {
    const summary = await runQuickstart({
      url: local.url,
      dataDir,
      offlineRoot: join(dataDir, "offline"),
      registerPipelines: (file) => local.platform.services.pipelines.registerFile(file),
      users: Number(values.users),
      days: Number(values.days),
      progress: {
        async task(title, fn) {
          const t = performance.now();
          const r = await fn(() => undefined);
          rows.push([title, performance.now() - t]);
          return r;
        },
        info: () => undefined,
      },
    });
    const total = performance.now() - started;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `${summary.transactions} transactions, ${summary.users} users; drift status ${summary.drift.status}`,
    );
    console.log("| step | wall |\n| --- | --- |");
    for (const [title, ms] of rows) console.log(`| ${title} | ${(ms / 1000).toFixed(1)} s |`);
    console.log(
      `| **total** | **${(total / 1000).toFixed(1)} s** (process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s) |`,
    );
  } finally {
    await local.close();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
