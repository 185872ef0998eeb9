/**
 * A `keel <noun> [verb]` command. Each file under commands/ exports one or more; main.ts
 * lists them. `run` returns the exit code.
 */
export interface Command {
  /** e.g. "dev", "audit verify", "pipeline run" */
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {}
