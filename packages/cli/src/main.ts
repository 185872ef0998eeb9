import { KeelError } from "@keel/core";
import { type Command, UsageError } from "./command";
import { auditCommands } from "./commands/audit";
import { deployCommands } from "./commands/deploy";
import { devCommand } from "./commands/dev";
import { featuresCommands } from "./commands/features";
import { modelCommands } from "./commands/model";
import { monitorCommands } from "./commands/monitor";
import { pipelineCommands } from "./commands/pipeline";
import { serveCommand } from "./commands/serve";
import { usersCommands } from "./commands/users";

/** Every command the CLI knows, longest names first so "pipeline run" wins over "pipeline". */
const commands: Command[] = [
  devCommand,
  ...featuresCommands,
  ...monitorCommands,
  ...auditCommands,
  ...modelCommands,
  ...pipelineCommands,
  serveCommand,
  ...deployCommands,
  ...usersCommands,
];

function usage(): string {
  const lines = commands
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => `  keel ${c.name.padEnd(22)} ${c.summary}`);
  return `Keel: the ML platform for regulated businesses\n\nUsage:\n${lines.join("\n")}\n\nRun 'keel <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(usage());
    return argv.length === 0 ? 1 : 0;
  }
  const sorted = commands.slice().sort((a, b) => b.name.split(" ").length - a.name.split(" ").length);
  const cmd = sorted.find((c) => {
    const words = c.name.split(" ");
    return words.every((w, i) => argv[i] === w);
  });
  if (!cmd) {
    console.error(`keel: unknown command '${argv.slice(0, 2).join(" ")}'\n\n${usage()}`);
    return 2;
  }
  const rest = argv.slice(cmd.name.split(" ").length);
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`${cmd.summary}\n\nUsage: ${cmd.usage}`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith?.("ERR_PARSE_ARGS")) {
      console.error(`keel ${cmd.name}: ${(e as Error).message}\nUsage: ${cmd.usage}`);
      return 2;
    }
    if (e instanceof KeelError) {
      console.error(`keel ${cmd.name}: ${e.code}: ${e.message}`);
      return 1;
    }
    console.error(`keel ${cmd.name}: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// dev keeps running until a signal; everything else exits with its code.
process.exitCode = code;
