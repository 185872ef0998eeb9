#!/usr/bin/env node
// Fails when a workspace package declares a dependency that none of its files import (the other
// direction, imports that are not declared, is dependency-cruiser's: .dependency-cruiser.cjs).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const filesUnder = (dir) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && /\.(ts|mts|js|mjs|cjs)$/.test(e.name))
        .map((e) => join(e.parentPath, e.name))
    : [];

/** Declared for another reason than an import: a peer dependency of something imported. */
const PEERS = { local: ["hono"] }; // @hono/node-server's peer

const problems = [];
for (const pkg of readdirSync(join(root, "packages"))) {
  const manifestPath = join(root, "packages", pkg, "package.json");
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  const code = ["src", "bin"]
    .flatMap((d) => filesUnder(join(root, "packages", pkg, d)))
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    const used = new RegExp(`["']${dep.replace(/[/.]/g, "\\$&")}(/[^"']*)?["']`).test(code);
    if (!used && !PEERS[pkg]?.includes(dep))
      problems.push(`packages/${pkg}/package.json declares ${dep}, which nothing in the package imports`);
  }
}
if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log("manifests: every declared dependency is imported");
