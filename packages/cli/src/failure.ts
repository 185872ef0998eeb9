import { KeelError } from "@keel/core";
import { KeelApiError } from "@keel/sdk";

/**
 * A failure the CLI explains itself: what failed and what to do. main.ts prints every failure as
 * `keel: <what>. <remedy>` on one line (a code frame may follow for authoring errors).
 */
export class CliError extends Error {
  constructor(
    readonly what: string,
    readonly remedy: string,
    readonly exitCode = 1,
    /** Lines printed under the message (e.g. a code frame). */
    readonly detail?: string,
  ) {
    super(`${what}. ${remedy}`);
    this.name = "CliError";
  }
}

/** A command used wrongly: exit code 2, pointing at the command's --help. */
export class UsageError extends Error {}

const REMEDY_BY_CODE: Partial<Record<string, string>> = {
  RESOURCE_DOES_NOT_EXIST: "Check the names you passed",
  ENDPOINT_NOT_FOUND: "Check --url: it should point at Keel, and Keel at the version this CLI expects",
  RESOURCE_ALREADY_EXISTS: "Choose another name, or use the existing one",
  UNAUTHENTICATED: "Pass a token, or run against the local platform",
  PERMISSION_DENIED: "Run as a principal allowed to do this (--as)",
  INVALID_STATE: "Check the resource's current state and try again",
  REQUEST_LIMIT_EXCEEDED: "Wait a moment and try again",
  TEMPORARILY_UNAVAILABLE: "Wait a moment and try again",
};

const trim = (s: string) => s.trim().replace(/[.\s]+$/, "");

/** What main.ts prints for a failure of `command` (undefined before a command was chosen). */
export function describeFailure(
  e: unknown,
  command?: string,
): { line: string; detail?: string; code: number } {
  const where = command ? `${command}: ` : "";
  const help = command ? `keel ${command} --help` : "keel --help";
  if (e instanceof CliError)
    return { line: `${trim(e.what)}. ${e.remedy}`, detail: e.detail, code: e.exitCode };
  if (e instanceof UsageError || (e as { code?: string })?.code?.startsWith?.("ERR_PARSE_ARGS"))
    return { line: `${where}${trim((e as Error).message)}. See '${help}'`, code: 2 };
  if (e instanceof KeelApiError) {
    const remedy =
      REMEDY_BY_CODE[e.errorCode] ??
      (e.status >= 500
        ? "The server failed: see its log (rerun with --debug for details)"
        : `Check the arguments: ${help}`);
    return { line: `${where}${trim(e.message)} (${e.errorCode}). ${remedy}`, code: 1 };
  }
  if (e instanceof KeelError) {
    const remedy = REMEDY_BY_CODE[e.code] ?? `Check the arguments: ${help}`;
    return { line: `${where}${trim(e.message)} (${e.code}). ${remedy}`, code: 1 };
  }
  const errno = e as NodeJS.ErrnoException & { port?: number; address?: string };
  if (errno?.code === "EADDRINUSE")
    return {
      line: `port ${errno.port ?? "?"} on ${errno.address ?? "?"} is already in use. Stop what listens there, or pass another --port`,
      code: 1,
    };
  const message = e instanceof Error ? e.message : String(e);
  return { line: `${where}${trim(message.split("\n")[0])}. Rerun with --debug for the details`, code: 1 };
}
