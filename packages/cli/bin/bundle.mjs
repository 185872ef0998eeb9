// The CLI as one prebuilt ES module bundle (esbuild), so commands that need no TypeScript at
// run time start without tsx compiling and resolving hundreds of modules through its loader
// thread. Built by `npm run build:cli` (and before `npm test` / `npm start`); used by
// bin/keel.mjs only while every source file it was built from is unchanged, so an edited
// checkout falls back to tsx and never runs stale code. Plain JS: it runs before any loader.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const CLI_DIR = fileURLToPath(new URL("..", import.meta.url));
const ROOT = join(CLI_DIR, "../..");
export const BUNDLE_DIR = join(CLI_DIR, "dist");
const MANIFEST = join(BUNDLE_DIR, "inputs.json");

/**
 * The bundle's entry when it is current: built from exactly the files on disk (none changed
 * since), else undefined. Costs one stat per source file (a few ms).
 */
export function currentBundle() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, "utf8"));
  } catch {
    return undefined;
  }
  for (const [file, mtimeMs] of Object.entries(manifest.inputs)) {
    try {
      // Within a millisecond counts as unchanged: setting a time back (utimes takes seconds as a
      // double) can land a hair under the millisecond it was read at.
      if (Math.abs(statSync(join(ROOT, file)).mtimeMs - mtimeMs) >= 1) return undefined;
    } catch {
      return undefined;
    }
  }
  return pathToFileURL(join(BUNDLE_DIR, manifest.entry)).href;
}

/**
 * npm packages stay external (loaded from node_modules as usual); Keel's workspaces
 * (`@keel/*`, TypeScript sources) and relative imports are bundled, marked free of import side
 * effects (none of them is imported for its side effects alone), so a command's chunk loads
 * only the modules whose exports it uses: `keel audit verify` does not load the DynamoDB SDK
 * just because the metadata package's index also exports the DynamoDB adapter.
 */
const keelSources = {
  name: "keel-sources",
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.inner || args.kind === "entry-point") return undefined;
      if (/^[^./]/.test(args.path) && !args.path.startsWith("@keel/"))
        return { path: args.path, external: true };
      const r = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { inner: true },
      });
      if (r.errors.length > 0) return { errors: r.errors };
      return { path: r.path, external: r.external, sideEffects: r.path.includes("/node_modules/") };
    });
  },
};

/**
 * Each bundled file keeps its own `import.meta.url`/`dirname`/`filename` (its place in the
 * source tree), so paths it builds from them (worker scripts, the proto file, package.json,
 * createRequire) resolve as they do under tsx.
 */
const ownImportMeta = {
  name: "own-import-meta",
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      if (args.path.includes("/node_modules/")) return undefined;
      const source = readFileSync(args.path, "utf8");
      if (!source.includes("import.meta")) return undefined;
      const contents = source
        .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll("import.meta.dirname", JSON.stringify(dirname(args.path)))
        .replaceAll("import.meta.filename", JSON.stringify(args.path));
      const ext = args.path.slice(args.path.lastIndexOf(".") + 1);
      return { contents, loader: ext.endsWith("ts") ? "ts" : "js" };
    });
  },
};

/** Builds the bundle into dist/ (a fresh folder swapped in whole) and records its inputs' mtimes. */
export async function buildBundle() {
  // Not a static import: running the bundle does not need esbuild.
  const esbuild = await import("esbuild");
  const staging = `${BUNDLE_DIR}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [join(CLI_DIR, "src/main.ts")],
    outdir: staging,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    metafile: true,
    write: false,
    logLevel: "silent",
    // Chunks are named after their content; the entry stays main.mjs.
    entryNames: "[name]",
    outExtension: { ".js": ".mjs" },
    plugins: [keelSources, ownImportMeta],
  });
  for (const out of result.outputFiles) {
    // With code splitting esbuild still imports, for ordering, every chunk holding a module the
    // importer reaches, even one it tree-shook away. Keel's sources are declared free of import
    // side effects (keelSources), so a bare `import "./chunk-X.mjs"` only loads unused code: drop it.
    const text = out.text.replace(/^import "\.\/chunk-[A-Z0-9]+\.mjs";\n/gm, "");
    writeFileSync(out.path, text);
  }
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    const path = join(ROOT, file);
    // Whole milliseconds: what utimes and copies with times kept can restore exactly.
    inputs[relative(ROOT, path)] = Math.floor(statSync(path).mtimeMs);
  }
  writeFileSync(join(staging, "inputs.json"), JSON.stringify({ entry: "main.mjs", inputs }));
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  renameSync(staging, BUNDLE_DIR);
  return { files: Object.keys(inputs).length };
}

// `node bundle.mjs [--if-stale]`: builds the bundle (with --if-stale only when it is not
// current). Never fails the npm script that runs it: without a bundle the CLI runs through tsx.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!(process.argv.includes("--if-stale") && currentBundle())) {
    const started = performance.now();
    try {
      const { files } = await buildBundle();
      console.log(
        `keel CLI bundle: ${files} source files -> ${relative(ROOT, BUNDLE_DIR)}/ in ${Math.round(performance.now() - started)} ms`,
      );
    } catch (e) {
      console.warn(`keel CLI bundle not built (the CLI runs through tsx): ${e?.message ?? e}`);
    }
  }
}
