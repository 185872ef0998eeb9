import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "tests/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/.keel/**", "**/.sst/**"],
    // Stack synthesis keeps module-level state in SST: every file gets its own process.
    pool: "forks",
    globalSetup: ["tests/setup/global.ts"],
    // Generous: CLI tests spawn `keel` processes several times, slow on a busy 2-core machine.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", SST_TELEMETRY_DISABLED: "1" },
  },
});
