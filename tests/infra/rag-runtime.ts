import { existsSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { LANCEDB_NATIVE, lockedVersions, NPM_CPU } from "../../stacks/rag-runtime";

/** Lambda's limit on a function's unzipped code (with its layers): 250 MB. */
export const LAMBDA_UNZIPPED_LIMIT = 262_144_000;

/** ELF `e_machine` of each Lambda architecture's native code. */
const ELF_MACHINE = { arm_64: 0xb7, x86_64: 0x3e } as const;

/** Bytes of every file under a folder (a hard-linked file counts wholly: a zip holds each copy). */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) total += lstatSync(path.join(e.parentPath, e.name)).size;
  return total;
}

function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(file, "r");
  readSync(fd, header, 0, 20, 0);
  expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  return header.readUInt16LE(18);
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON.
type Json = any;

/**
 * Checks that a synthesized function can open LanceDB where it runs: the bundle's node_modules
 * holds `@lancedb/lancedb` and exactly one native binding, for the function's architecture
 * (package `cpu` field and the binary's ELF machine), both at the lock file's version; pdf.js
 * (the legacy build packages/rag loads) exactly when `pdf`; and the whole fits Lambda's limit.
 */
export function expectRagRuntime(fn: Json, bundle: string, opts: { pdf: boolean }): void {
  const arch = (fn.Architectures?.[0] === "arm64" ? "arm_64" : "x86_64") as keyof typeof ELF_MACHINE;
  const modules = path.join(bundle, "node_modules");
  expect(readdirSync(path.join(modules, "@lancedb")).sort()).toEqual(
    ["lancedb", LANCEDB_NATIVE[arch].split("/")[1]].sort(),
  );
  const pkg = (name: string) => JSON.parse(readFileSync(path.join(modules, name, "package.json"), "utf8"));
  const native = pkg(LANCEDB_NATIVE[arch]);
  expect(native.cpu).toEqual([NPM_CPU[arch]]);
  expect(native.os).toEqual(["linux"]);
  const locked = lockedVersions(["@lancedb/lancedb", LANCEDB_NATIVE[arch], "apache-arrow"]);
  expect(pkg("@lancedb/lancedb").version).toBe(locked["@lancedb/lancedb"]);
  expect(native.version).toBe(locked[LANCEDB_NATIVE[arch]]);
  // LanceDB's peer dependency resolves beside it, at the version tests run with.
  expect(pkg("apache-arrow").version).toBe(locked["apache-arrow"]);
  expect(elfMachine(path.join(modules, LANCEDB_NATIVE[arch], native.main))).toBe(ELF_MACHINE[arch]);
  expect(existsSync(path.join(modules, "pdfjs-dist/legacy/build/pdf.mjs"))).toBe(opts.pdf);
  if (opts.pdf) expect(existsSync(path.join(modules, "pdfjs-dist/legacy/build/pdf.worker.mjs"))).toBe(true);
  expect(folderBytes(bundle)).toBeLessThan(LAMBDA_UNZIPPED_LIMIT);
}
