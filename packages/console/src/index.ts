export { CONSOLE_DIR, CONSOLE_DIST, consoleBuildIsStale, consoleRoot, ensureConsoleBuilt } from "./build";
export { CONSOLE_PAGE_PREFIXES, consolePublicRouteKeys } from "./public-routes";
export { isReserved, RESERVED_PREFIXES, serveConsole } from "./serve";
