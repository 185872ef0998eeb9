#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step): tsx registers its loader, then main.ts runs.
import { register } from "tsx/esm/api";

// Keel supports Node >= 20; the SDK's notice about future versions is noise for CLI users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// The CLI prints its own progress; the platform's info-level JSON logs would interleave with it.
process.env.KEEL_LOG_LEVEL ??= "warn";

register();
await import("../src/main.ts");
