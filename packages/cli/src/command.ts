import { Cli, type GlobalFlag, parseGlobalOptions } from "./client";
import { UsageError } from "./failure";

/**
 * A `keel <noun> [verb]` command as written under commands/: `run` gets its own arguments and
 * the `Cli` (client.ts) built from the global flags it accepts. It returns the exit code;
 * failures are thrown and main.ts reports them.
 */
export interface CommandSpec {
  /** e.g. "dev", "audit verify", "pipeline run" */
  name: string;
  summary: string;
  usage: string;
  /** The global flags (client.ts) this command reads; any other is refused. */
  flags?: GlobalFlag[];
  run(argv: string[], cli: Cli): Promise<number>;
}

/** A command as main.ts (and in-process tests) run it: with the whole argument list. */
export interface Command extends Omit<CommandSpec, "run"> {
  run(argv: string[]): Promise<number>;
}

export function command(spec: CommandSpec): Command {
  return {
    ...spec,
    run(argv) {
      const { options, given, rest } = parseGlobalOptions(argv);
      for (const flag of given) {
        if (flag !== "debug" && !spec.flags?.includes(flag as GlobalFlag))
          throw new UsageError(`--${flag} does not apply to this command`);
      }
      return spec.run(rest, new Cli(options));
    },
  };
}

export { UsageError };
