import { ENV } from "./config";

/** A small structured logger: one JSON line per event on stderr, level from KEEL_LOG_LEVEL. */
export type Level = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: Level = (process.env[ENV.LOG_LEVEL] as Level) ?? "info",
  base: Record<string, unknown> = {},
): Logger {
  const min = ORDER[level] ?? ORDER.info;
  const write = (l: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < min) return;
    process.stderr.write(
      `${JSON.stringify({ t: new Date().toISOString(), level: l, msg, ...base, ...fields })}\n`,
    );
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (f) => createLogger(level, { ...base, ...f }),
  };
}

export const log = createLogger();
