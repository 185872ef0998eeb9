export { CONSOLE_DIR, CONSOLE_DIST, consoleBuildIsStale, consoleRoot, ensureConsoleBuilt } from "./build";
export { isReserved, RESERVED_PREFIXES, serveConsole } from "./serve";
