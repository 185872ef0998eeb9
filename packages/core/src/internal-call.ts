import { randomUUID } from "node:crypto";

/**
 * The platform's own calls to its HTTP API (the quickstart, pipeline steps `keel dev` runs, in
 * process or as its child processes) carry this header with a token made once per server
 * process, so admission control never refuses them: shedding load must not fail the work the
 * platform itself started. The token only exempts from load shedding (it grants no permission),
 * and it is passed through the environment, so only this process and its children know it.
 */
export const INTERNAL_CALL_HEADER = "x-keel-internal-call";
const TOKEN_VAR = "KEEL_INTERNAL_CALL_TOKEN";

/** The token of this server process, made (and put in the environment) on first use. */
export function internalCallToken(): string {
  process.env[TOKEN_VAR] ??= randomUUID();
  return process.env[TOKEN_VAR];
}

/** Headers marking a call as the platform's own, when a Keel server runs in this process or its parent. */
export function internalCallHeaders(): Record<string, string> {
  const token = process.env[TOKEN_VAR];
  return token ? { [INTERNAL_CALL_HEADER]: token } : {};
}
