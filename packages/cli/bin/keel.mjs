#!/usr/bin/env node
// Runs the CLI: the prebuilt bundle (bin/bundle.mjs) when it is current and the command loads
// no user TypeScript, else the TypeScript sources directly through tsx (no build step needed).

// Keel supports Node >= 20; the SDK's notice about future versions is noise for CLI users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// The CLI prints its own progress; the platform's info-level JSON logs would interleave with it.
process.env.KEEL_LOG_LEVEL ??= "warn";

/**
 * Commands that never import a user's TypeScript (project, feature repo, pipeline or tuning
 * files): those need tsx, and a user file importing `@keel/*` must share the CLI's module
 * instances, which the bundle's inlined copies are not. `audit` and `users` open the data dir's
 * store directly (no platform, so no project); the rest only print.
 */
const BUNDLED = new Set([undefined, "--help", "-h", "help", "--version", "-v", "version", "audit", "users"]);

let entry;
if (BUNDLED.has(process.argv[2]) && process.env.KEEL_CLI_BUNDLE !== "0") {
  const { currentBundle } = await import("./bundle.mjs");
  entry = currentBundle();
}
// Which way this process runs the CLI (diagnostics; tests/cli/bundle.test.ts reads it).
process.env.KEEL_CLI_RUNTIME = entry ? "bundle" : "tsx";
if (entry) {
  await import(entry);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/main.ts");
}
