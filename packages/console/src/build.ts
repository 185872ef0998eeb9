import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The console package's folder, its sources and its build output. */
export const CONSOLE_DIR = fileURLToPath(new URL("..", import.meta.url));
export const CONSOLE_DIST = join(CONSOLE_DIR, "dist");
const SOURCES = ["web", "package.json"].map((p) => join(CONSOLE_DIR, p));

/**
 * Where the built console is: the package's dist (keel dev, a checkout), else `console/` beside
 * the running bundle's working directory (a Lambda package that copied dist there).
 */
export function consoleRoot(): string {
  const candidates = [CONSOLE_DIST, resolve("console")];
  return candidates.find((dir) => existsSync(join(dir, "index.html"))) ?? CONSOLE_DIST;
}

function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const e of readdirSync(path)) max = Math.max(max, newest(join(path, e)));
  return max;
}

/** True when dist/index.html is missing or older than any source file. */
export function consoleBuildIsStale(): boolean {
  const index = join(CONSOLE_DIST, "index.html");
  if (!existsSync(index)) return true;
  if (!existsSync(join(CONSOLE_DIR, "web"))) return false;
  const built = statSync(index).mtimeMs;
  return SOURCES.some((p) => existsSync(p) && newest(p) > built);
}

/**
 * Builds the console with Vite when its build is missing or stale (npm start, npm test, CI);
 * a fresh build is left alone. Throws with Vite's output when the build fails.
 */
export function ensureConsoleBuilt(opts: { quiet?: boolean } = {}): "built" | "fresh" {
  if (!consoleBuildIsStale()) return "fresh";
  if (!opts.quiet) console.log("Building the Keel console (vite build)…");
  const res = spawnSync(
    process.execPath,
    [viteBin(), "build", "--config", "web/vite.config.ts", "--logLevel", "warn"],
    {
      cwd: CONSOLE_DIR,
      encoding: "utf8",
    },
  );
  if (res.status !== 0) throw new Error(`the console build failed:\n${res.stdout}\n${res.stderr}`);
  return "built";
}

function viteBin(): string {
  for (let dir = CONSOLE_DIR; ; dir = join(dir, "..")) {
    const bin = join(dir, "node_modules", "vite", "bin", "vite.js");
    if (existsSync(bin)) return bin;
    if (dir === join(dir, "..")) throw new Error("vite is not installed (npm ci)");
  }
}
