import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { FunctionProps } from "sst/constructs";
import { useProject } from "sst/project.js";

type Architecture = NonNullable<FunctionProps["architecture"]>;

/**
 * LanceDB's native binding per Lambda architecture (Lambda runs glibc Linux). `@lancedb/lancedb`
 * lists these as optionalDependencies and picks one at run time by `process.arch`.
 */
export const LANCEDB_NATIVE: Record<Architecture, string> = {
  arm_64: "@lancedb/lancedb-linux-arm64-gnu",
  x86_64: "@lancedb/lancedb-linux-x64-gnu",
};

/** npm's `cpu` name for a Lambda architecture (what a package's `cpu` field lists). */
export const NPM_CPU: Record<Architecture, string> = { arm_64: "arm64", x86_64: "x64" };

/**
 * What a function that opens knowledge bases loads at run time, by names bundlers leave alone
 * (packages/rag: `loadLanceDb`, `extractPdfText`): LanceDB's JavaScript, its native binding,
 * apache-arrow (LanceDB's peer dependency) and pdf.js.
 */
const PDFJS = "pdfjs-dist";
const packagesFor = (arch: Architecture) => ["@lancedb/lancedb", LANCEDB_NATIVE[arch], "apache-arrow", PDFJS];

/**
 * Parts of pdf.js Keel never loads (it imports `legacy/build/pdf.mjs`, whose fake worker loads
 * `legacy/build/pdf.worker.mjs`): the modern build, the viewer, types and source maps. Without
 * them the API function stays well inside Lambda's 250 MB (unzipped) limit next to the
 * ~145 MB LanceDB binding.
 */
const PDFJS_UNUSED = ["build", "web", "types", "image_decoders", "legacy/web", "legacy/image_decoders"];

/** Each package's version in the project's package-lock.json (the versions tests run against). */
export function lockedVersions(names: string[], root = process.cwd()): Record<string, string> {
  const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string }>;
  };
  return Object.fromEntries(
    names.map((name) => {
      const version = lock.packages[`node_modules/${name}`]?.version;
      if (!version) throw new Error(`${name} is not in package-lock.json: cannot pin it for Lambda`);
      return [name, version];
    }),
  );
}

const installs = new Map<string, Promise<string>>();

/**
 * A `node_modules` with the RAG runtime packages for one architecture, at the lock file's
 * versions, installed once per machine under `.sst/rag-runtime/<arch>-<hash>` (npm's cache
 * makes later installs offline). Why not SST's `nodejs.install`: SST 2.49.8 runs
 * `npm install --omit=optional --force --os=linux --cpu=<arch>` with versions from the
 * package.json above the handler or `*`, so LanceDB's platform binding (an optional
 * dependency) is never installed, and naming the binding there would take its newest
 * version, not the one matching `@lancedb/lancedb` (the root package.json cannot list a
 * package for another CPU). This runs the same npm command with exact versions instead.
 */
export function ragRuntimeModules(arch: Architecture): Promise<string> {
  const project = useProject();
  const versions = lockedVersions(packagesFor(arch), project.paths.root);
  const hash = createHash("sha256").update(JSON.stringify(versions)).digest("hex").slice(0, 12);
  const dir = path.join(project.paths.out, "rag-runtime", `${arch}-${hash}`);
  let pending = installs.get(dir);
  if (!pending) {
    pending = install(dir, arch, versions);
    installs.set(dir, pending);
    // A failed install (e.g. the registry unreachable with nothing cached) is retried next time.
    pending.catch(() => installs.delete(dir));
  }
  return pending;
}

async function install(dir: string, arch: Architecture, versions: Record<string, string>): Promise<string> {
  const modules = path.join(dir, "node_modules");
  if (existsSync(path.join(modules, LANCEDB_NATIVE[arch], "package.json"))) return modules;
  // Installed beside the final folder and renamed into place: parallel syntheses never see half.
  const tmp = `${dir}.tmp-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  await fs.writeFile(
    path.join(tmp, "package.json"),
    JSON.stringify({ private: true, dependencies: versions }),
  );
  try {
    await npmInstall(tmp, NPM_CPU[arch]);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new Error(`installing LanceDB's ${arch} binding for Lambda failed: ${(err as Error).message}`);
  }
  const pdfjs = path.join(tmp, "node_modules", PDFJS);
  for (const unused of PDFJS_UNUSED) await fs.rm(path.join(pdfjs, unused), { recursive: true, force: true });
  await removeSourceMaps(pdfjs);
  try {
    await fs.rename(tmp, dir);
  } catch {
    // Another synthesis finished the same install first.
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return modules;
}

/** SST's install command (runtime/handlers/node.js) plus --libc, at the exact versions of `cwd`'s package.json. */
async function npmInstall(cwd: string, cpu: string): Promise<void> {
  // --force: npm 11 refuses a package for another CPU even with --cpu (EBADPLATFORM), as SST knows.
  await promisify(execFile)(
    "npm",
    [
      "install",
      "--omit=dev",
      "--omit=optional",
      "--force",
      "--os=linux",
      `--cpu=${cpu}`,
      "--libc=glibc",
      "--ignore-scripts",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--loglevel=error",
    ],
    { cwd, maxBuffer: 16 * 1024 * 1024 },
  );
}

async function removeSourceMaps(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile() && entry.name.endsWith(".map")) await fs.rm(path.join(entry.parentPath, entry.name));
}

/** Hard-links (or copies, across devices) a tree into `to`, leaving out top-level names in `skip`. */
async function linkTree(from: string, to: string, skip: Set<string> = new Set()): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const src = path.join(from, entry.name);
    const dest = path.join(to, entry.name);
    if (entry.isDirectory()) await linkTree(src, dest);
    else if (entry.isSymbolicLink()) await fs.symlink(await fs.readlink(src), dest);
    else await fs.link(src, dest).catch(() => fs.copyFile(src, dest));
  }
}

/**
 * Function props for a function that opens knowledge bases: after SST bundles it, the RAG
 * runtime for the function's architecture goes into the bundle's `node_modules` (where the
 * bundle's `import("@lancedb/lancedb")` resolves), with pdf.js only where documents are
 * ingested (`pdf: true`). `sst dev` links the project's own node_modules there instead, so
 * nothing is added then.
 */
export function ragRuntime(opts: { pdf: boolean }): Pick<FunctionProps, "hooks"> {
  return {
    hooks: {
      async afterBuild(props, out) {
        const dest = path.join(out, "node_modules");
        if ((await fs.lstat(dest).catch(() => undefined))?.isSymbolicLink()) return;
        const modules = await ragRuntimeModules(props.architecture ?? "x86_64");
        await linkTree(modules, dest, new Set(opts.pdf ? [] : [PDFJS]));
      },
    },
  };
}
