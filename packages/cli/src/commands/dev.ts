import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureConsoleBuilt } from "@keel/console";
import { ENV } from "@keel/core";
import { offlineRootOf } from "@keel/features";
import { DataDirInUseError, type LocalOptions, startLocalPlatform } from "@keel/local";
import { startGrpcServer } from "@keel/serving";
import type { Cli } from "../client";
import { command, UsageError } from "../command";
import { CliError } from "../failure";
import { exitWithNpm, npmParent } from "../parent-watch";
import { createProgress } from "../progress";
import { authBanner } from "./users";

/**
 * The model stages the local stage approves by itself, so the quickstart's promotion needs no
 * second person. Only when KEEL_AUTO_APPROVE_STAGES is unset: setting it (even to "") wins.
 */
const LOCAL_AUTO_APPROVE_STAGES = ["Production"];

/** The project `keel dev` loads when none is named (--project, KEEL_PROJECT_DIR): the fraud example. */
const DEFAULT_PROJECT_DIR = join(import.meta.dirname, "../../../../examples/fraud-detection");

async function start(cli: Cli, opts: LocalOptions) {
  try {
    return await startLocalPlatform({ ...opts, dataDir: cli.dataDir });
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
  usage:
    "keel dev [--port 5000] [--host 127.0.0.1] [--data-dir ./.keel] [--project <dir>] [--pipelines <file>]... [--tunings <file>]... [--no-example] [--auth] [--grpc-port N]",
  flags: ["data-dir"],
  async run(argv, cli) {
    const npm = npmParent();
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string", default: "5000" },
        host: { type: "string", default: "127.0.0.1" },
        project: { type: "string" },
        "no-example": { type: "boolean", default: false },
        pipelines: { type: "string", multiple: true, default: [] },
        tunings: { type: "string", multiple: true, default: [] },
        auth: { type: "boolean", default: false },
        "grpc-port": { type: "string" },
      },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port must be 0..65535, got ${values.port}`);
    const grpcPort = values["grpc-port"] === undefined ? undefined : Number(values["grpc-port"]);
    if (grpcPort !== undefined && (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535))
      throw new UsageError(`--grpc-port must be 0..65535, got ${values["grpc-port"]}`);
    // With --auth there are several people, so four eyes hold by default there too.
    const autoApprove =
      process.env[ENV.AUTO_APPROVE_STAGES] === undefined && !values.auth
        ? LOCAL_AUTO_APPROVE_STAGES
        : undefined;
    // A named project (--project, KEEL_PROJECT_DIR) wins; the fraud example is the default
    // unless --no-example.
    const projectDir =
      values.project ??
      process.env[ENV.PROJECT_DIR] ??
      (values["no-example"] ? undefined : DEFAULT_PROJECT_DIR);
    // The console's files (npm start builds them first; a direct `keel dev` builds them when stale).
    try {
      ensureConsoleBuilt();
    } catch (e) {
      console.warn(
        `keel: the console could not be built, the API works without it (${(e as Error).message.split("\n")[0]})`,
      );
    }
    const local = await start(cli, {
      port,
      host: values.host,
      pipelineFiles: values.pipelines,
      tuningFiles: values.tunings,
      projectDir,
      config: {
        ...(autoApprove ? { registry: { autoApproveStages: autoApprove } } : {}),
        // Overload gets fast refusals (503 + Retry-After) before the app, not a growing queue,
        // unless KEEL_ADMISSION names another policy (bench/RESULTS.md: `front` vs `fixed`).
        ...(process.env[ENV.ADMISSION] === undefined ? { http: { admission: "front" as const } } : {}),
      },
      auth: values.auth ? "users" : "laptop",
    });
    const url = `http://localhost:${local.port}`;
    // KServe v2 gRPC, off unless asked: the same app (identity, permissions, router) behind it.
    const grpc =
      grpcPort === undefined
        ? undefined
        : await startGrpcServer({ fetch: local.platform.app.fetch, port: grpcPort, host: values.host }).catch(
            async (e: Error) => {
              await local.close();
              throw new CliError(
                `the gRPC port ${grpcPort} on ${values.host} cannot be bound (${e.message})`,
                "Stop what listens there, or pass another --grpc-port",
              );
            },
          );
    const { config } = local.platform.deps;
    const { autoApproveStages } = config.registry;
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping Keel…`);
      await grpc?.close();
      await local.close();
      console.log("Keel stopped; all data is in", local.dataDir);
      process.exit(0);
    };
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGHUP", () => void stop("SIGHUP"));
    exitWithNpm(npm, () => void stop("npm process gone"));
    console.log(`Keel is ready at ${url}`);
    console.log(`  console:  ${url}/`);
    console.log(`  data dir: ${local.dataDir}`);
    console.log(`  MLflow:   export MLFLOW_TRACKING_URI=${url}`);
    if (grpc) console.log(`  gRPC:     KServe v2 GRPCInferenceService at ${values.host}:${grpc.port}`);
    console.log(
      autoApproveStages.length > 0
        ? `  approvals: the ${config.core.stage} stage auto-approves promotions to ${autoApproveStages.join(", ")} ` +
            `(${ENV.AUTO_APPROVE_STAGES}=${autoApproveStages.join(",")}; set it to "" for four-eyes approval)`
        : `  approvals: every protected promotion needs a second person (${values.auth ? "--auth" : `${ENV.AUTO_APPROVE_STAGES} is empty`})`,
    );
    console.log((await authBanner(local.platform.access)).join("\n"));
    const quickstart = local.project?.quickstart;
    if (quickstart && !values["no-example"] && !values.auth && local.dataDir) {
      const dataDir = local.dataDir;
      const earlier = quickstart.completed(dataDir);
      try {
        const summary =
          earlier ??
          (await (async () => {
            console.log(`\nRunning ${quickstart.title} (skip it with --no-example):`);
            return quickstart.run({
              url,
              dataDir,
              offlineRoot: offlineRootOf(config),
              progress: createProgress(),
              registerPipelines: (file) => local.platform.services.pipelines.registerFile(file),
            });
          })());
        if (earlier) {
          const at = (earlier as { completedAt?: string }).completedAt;
          console.log(`\nThe quickstart ran in this data dir${at ? ` on ${at}` : ""}; reusing it.`);
        }
        console.log("");
        for (const line of quickstart.report(summary, url)) console.log(line);
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
