import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "./command";
import { describeFailure } from "./failure";

/**
 * Every command the CLI knows, by its first word. Modules load on use: `keel deploy status`
 * does not load the platform that `keel dev` starts.
 */
const modules: Record<string, () => Promise<Command[]>> = {
  audit: async () => (await import("./commands/audit")).auditCommands,
  data: async () => (await import("./commands/data")).dataCommands,
  deploy: async () => (await import("./commands/deploy")).deployCommands,
  dev: async () => [(await import("./commands/dev")).devCommand],
  experiments: async () => (await import("./commands/tracking")).trackingCommands,
  llm: async () => (await import("./commands/llm")).llmCommands,
  model: async () => (await import("./commands/model")).modelCommands,
  models: async () => (await import("./commands/model")).modelCommands,
  monitor: async () => (await import("./commands/monitor")).monitorCommands,
  rag: async () => (await import("./commands/rag")).ragCommands,
  features: async () => [
    ...(await import("./commands/features")).featuresCommands,
    (await import("./commands/data")).featuresCheckConsistencyCommand,
  ],
  pipeline: async () => [
    ...(await import("./commands/pipeline")).pipelineCommands,
    (await import("./commands/data")).pipelineReproduceCommand,
  ],
  runs: async () => (await import("./commands/tracking")).trackingCommands,
  serve: async () => [(await import("./commands/serve")).serveCommand],
  tune: async () => (await import("./commands/tune")).tuneCommands,
  users: async () => (await import("./commands/users")).usersCommands,
};

async function allCommands(): Promise<Command[]> {
  const lists = await Promise.all([...new Set(Object.values(modules))].map((load) => load()));
  return [...new Map(lists.flat().map((c) => [c.name, c])).values()];
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

function usage(commands: Command[]): string {
  const lines = commands
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => `  keel ${c.name.padEnd(22)} ${c.summary}`);
  return [
    "Keel: the ML platform for regulated businesses",
    "",
    "Usage:",
    ...lines,
    "",
    "Options for commands that talk to Keel:",
    "  --url <url>         the server (default $KEEL_URL, else http://localhost:5000)",
    "  --data-dir <dir>    open a local data dir in process instead (default ./.keel)",
    "  --json              machine-readable output",
    "  --debug             show stack traces on failure",
    "  --version           print the CLI's version",
    "",
    "Run 'keel <command> --help' for a command's options.",
  ].join("\n");
}

/** The command named by argv's leading words (the longest match wins: "pipeline run" over "pipeline"). */
function find(commands: Command[], argv: string[]): Command | undefined {
  const sorted = commands.slice().sort((a, b) => b.name.split(" ").length - a.name.split(" ").length);
  return sorted.find((c) => c.name.split(" ").every((w, i) => argv[i] === w));
}

export async function main(argv: string[]): Promise<number> {
  let command: Command | undefined;
  const debug = argv.includes("--debug");
  try {
    if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
      console.log(usage(await allCommands()));
      return argv.length === 0 ? 1 : 0;
    }
    if (argv[0] === "--version" || argv[0] === "-v" || argv[0] === "version") {
      console.log(version());
      return 0;
    }
    const load = modules[argv[0]];
    command = load ? find(await load(), argv) : undefined;
    if (!command) {
      console.error(
        `keel: unknown command '${argv
          .filter((a) => !a.startsWith("-"))
          .slice(0, 2)
          .join(" ")}'. Run 'keel --help' for the list`,
      );
      return 2;
    }
    const rest = argv.slice(command.name.split(" ").length);
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(`${command.summary}\n\nUsage: ${command.usage}`);
      return 0;
    }
    return await command.run(rest);
  } catch (e) {
    const failure = describeFailure(e, command?.name);
    console.error(`keel: ${failure.line}`);
    if (failure.detail) console.error(failure.detail);
    if (debug) console.error((e as Error)?.stack ?? e);
    return failure.code;
  }
}

const code = await main(process.argv.slice(2));
if (code !== 0) {
  // A failed command may leave handles open (a half-started platform, sockets): leave now.
  process.exit(code);
}
process.exitCode = code;
