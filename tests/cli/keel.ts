import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/** The `keel` bin as a user runs it (tsx loader, no build step). */
export const KEEL_BIN = join(import.meta.dirname, "../../packages/cli/bin/keel.mjs");
export const REPO_ROOT = join(import.meta.dirname, "../..");

export interface KeelResult {
  code: number | null;
  out: string;
  err: string;
}

const ENV = { ...process.env, KEEL_LOG_LEVEL: "error", KEEL_URL: undefined };

/**
 * Runs `keel <args>` to completion without blocking this process's event loop (tests serve
 * the platform it talks to from this same process).
 */
export function keel(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<KeelResult> {
  const proc = spawn(process.execPath, [KEEL_BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...ENV, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout.on("data", (d) => {
    out += d;
  });
  proc.stderr.on("data", (d) => {
    err += d;
  });
  return new Promise((resolve) => proc.on("close", (code) => resolve({ code, out, err })));
}

/** Starts a long-running process and resolves once its output matches `ready` (with the match). */
export function startUntil(
  command: string,
  args: string[],
  ready: RegExp,
  opts: { cwd?: string } = {},
): Promise<{ proc: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const proc = spawn(command, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: ENV,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d;
      const match = output.match(ready);
      if (match) resolve({ proc, match, output: () => output });
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.on("exit", (code) =>
      reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output}`)),
    );
  });
}

/** Resolves with the exit code once the process has exited. */
export function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
}

/** The stderr lines that look like a stack trace. */
export const stackLines = (s: string) => s.split("\n").filter((l) => /^\s+at\s/.test(l));
