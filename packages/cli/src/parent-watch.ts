import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { processAlive } from "@keel/local";

/** argv of a process (Linux /proc), or undefined. */
function argvOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return undefined;
  }
}

/** npm's process: its title ("npm start ...") or `node .../npm-cli.js`. */
const isNpm = (argv: string[]) =>
  /^np[mx]$/.test(basename((argv[0] ?? "").split(" ")[0])) || /np[mx]-cli\.js$/.test(argv[1] ?? "");

/** Our ancestors up to the npm process that started us (Linux /proc; elsewhere just the parent). */
function ancestorsUpToNpm(): number[] {
  const chain: number[] = [];
  let pid = process.ppid;
  while (pid > 1 && chain.length < 4) {
    chain.push(pid);
    const argv = argvOf(pid);
    if (!argv || isNpm(argv)) break;
    try {
      // The fields after the command name in parentheses: state, then the parent's pid.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      pid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      break;
    }
  }
  return chain;
}

export interface NpmParent {
  parent: number;
  chain: number[];
}

/**
 * Who started this process, when it was npm (`npm start`, `npx keel dev`); undefined when it was
 * started directly (`keel dev &`, nohup), where outliving the shell is what was asked for. Take
 * it first thing: npm may be gone by the time the platform has started.
 */
export function npmParent(): NpmParent | undefined {
  if (!process.env.npm_lifecycle_event && !process.env.npm_command) return undefined;
  const parent = process.ppid;
  // Re-parented to init already (unless npm is init, as in a container): the first check stops us.
  if (parent === 1 && !isNpm(argvOf(1) ?? [])) return { parent: -1, chain: [] };
  return { parent, chain: ancestorsUpToNpm() };
}

/**
 * Calls `onGone` once that npm process, or any process between it and us (npm's `sh -c`), has
 * exited: killing npm does not always reach its script, and an orphaned `keel dev` would keep
 * the port and the data dir.
 */
export function exitWithNpm(npm: NpmParent | undefined, onGone: () => void): void {
  if (!npm) return;
  const check = () => {
    if (process.ppid === npm.parent && npm.chain.every(processAlive)) return;
    clearInterval(timer);
    onGone();
  };
  const timer = setInterval(check, 500);
  timer.unref();
}
