import { parseArgs } from "node:util";
import { startLocalPlatform } from "@keel/local";
import { type Command, UsageError } from "../command";

export const devCommand: Command = {
  name: "dev",
  summary: "run the whole platform locally on one port (npm start)",
  usage: "keel dev [--port 5000] [--host 127.0.0.1] [--data-dir ./.keel] [--no-example]",
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string", default: "5000" },
        host: { type: "string", default: "127.0.0.1" },
        "data-dir": { type: "string", default: "./.keel" },
        "no-example": { type: "boolean", default: false },
      },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got ${values.port}`);
    const local = await startLocalPlatform({ port, host: values.host, dataDir: values["data-dir"] });
    console.log(`Keel is ready at http://localhost:${local.port}`);
    console.log(`  data dir: ${local.dataDir}`);
    console.log(`  MLflow:   export MLFLOW_TRACKING_URI=http://localhost:${local.port}`);
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
    await new Promise(() => {});
    return 0;
  },
};
