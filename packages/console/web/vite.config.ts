import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** The console: a static SPA built into packages/console/dist, served by the platform's Hono app. */
export default defineConfig({
  root: here("."),
  base: "/",
  publicDir: false,
  logLevel: "warn",
  resolve: {
    // @keel/core (reached through @keel/sdk's errors) imports Node modules that the browser never calls.
    alias: {
      "node:crypto": here("src/node-stub.ts"),
      "node:async_hooks": here("src/node-stub.ts"),
    },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: here("../dist"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
});
