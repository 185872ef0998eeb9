export { CONSOLE_DIR, CONSOLE_DIST, consoleBuildIsStale, ensureConsoleBuilt } from "./build";
export { isReserved, RESERVED_PREFIXES, serveConsole } from "./serve";
