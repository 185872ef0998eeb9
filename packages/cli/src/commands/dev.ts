import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ENV } from "@keel/core";
import { DataDirInUseError, startLocalPlatform } from "@keel/local";
import {
  completedQuickstart,
  quickstartReport,
  runQuickstart,
} from "../../../../examples/fraud-detection/src/quickstart";
import type { Cli } from "../client";
import { command, UsageError } from "../command";
import { CliError } from "../failure";
import { exitWithNpm, npmParent } from "../parent-watch";
import { createProgress } from "../progress";

/**
 * The model stages the local stage approves by itself, so the quickstart's promotion needs no
 * second person. Only when KEEL_AUTO_APPROVE_STAGES is unset: setting it (even to "") wins.
 */
const LOCAL_AUTO_APPROVE_STAGES = ["Production"];

async function start(cli: Cli, port: number, host: string, autoApprove: string[] | undefined) {
  try {
    return await startLocalPlatform({
      port,
      host,
      dataDir: cli.dataDir,
      config: autoApprove ? { autoApproveStages: autoApprove } : {},
    });
  } catch (e) {
    if (e instanceof DataDirInUseError)
      throw new CliError(
        `the data dir ${resolve(cli.dataDir)} is in use by a running keel dev (pid ${e.pid}${e.url ? `, ${e.url}` : ""})`,
        "Use that one, stop it, or pass another --data-dir",
      );
    throw e;
  }
}

export const devCommand = command({
  name: "dev",
  summary: "run the whole platform locally on one port (npm start)",
  usage: "keel dev [--port 5000] [--host 127.0.0.1] [--data-dir ./.keel] [--no-example]",
  flags: ["data-dir"],
  async run(argv, cli) {
    const npm = npmParent();
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string", default: "5000" },
        host: { type: "string", default: "127.0.0.1" },
        "no-example": { type: "boolean", default: false },
      },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port must be 0..65535, got ${values.port}`);
    const autoApprove =
      process.env[ENV.AUTO_APPROVE_STAGES] === undefined ? LOCAL_AUTO_APPROVE_STAGES : undefined;
    const local = await start(cli, port, values.host, autoApprove);
    const url = `http://localhost:${local.port}`;
    const { config } = local.platform.deps;
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping Keel…`);
      await local.close();
      console.log("Keel stopped; all data is in", local.dataDir);
      process.exit(0);
    };
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGHUP", () => void stop("SIGHUP"));
    exitWithNpm(npm, () => void stop("npm process gone"));
    console.log(`Keel is ready at ${url}`);
    console.log(`  data dir: ${local.dataDir}`);
    console.log(`  MLflow:   export MLFLOW_TRACKING_URI=${url}`);
    console.log(
      config.autoApproveStages.length > 0
        ? `  approvals: the ${config.stage} stage auto-approves promotions to ${config.autoApproveStages.join(", ")} ` +
            `(${ENV.AUTO_APPROVE_STAGES}=${config.autoApproveStages.join(",")}; set it to "" for four-eyes approval)`
        : `  approvals: every protected promotion needs a second person (${ENV.AUTO_APPROVE_STAGES} is empty)`,
    );
    if (!values["no-example"] && local.dataDir) {
      const dataDir = local.dataDir;
      const earlier = completedQuickstart(dataDir);
      try {
        const summary =
          earlier ??
          (await (async () => {
            console.log("\nRunning the fraud-detection quickstart (skip it with --no-example):");
            return runQuickstart({
              url,
              dataDir,
              offlineRoot: config.offlineRoot ?? join(config.dataDir, "offline"),
              progress: createProgress(),
            });
          })());
        if (earlier)
          console.log(`\nThe quickstart ran in this data dir on ${earlier.completedAt}; reusing it.`);
        console.log("");
        for (const line of quickstartReport(summary, url)) console.log(line);
      } catch (e) {
        if (!stopping)
          console.error(
            `\nThe quickstart failed: ${(e as Error).message}\nKeel keeps running; the next start on this data dir runs the quickstart again.`,
          );
      }
    }
    await new Promise(() => {});
    return 0;
  },
});
