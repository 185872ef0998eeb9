import { readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Definition, definitionSchema, type FeatureRepoInput } from "./definitions";
import { invalidFeatures } from "./errors";

const DEFINITION_FILE = /\.(ts|mts|js|mjs)$/;
const SKIPPED_DIRS = new Set(["node_modules", ".keel", ".git", "data"]);

/**
 * Loads a feature repository from a directory: every exported value with a definition
 * `kind` in every .ts/.js file (recursively, skipping node_modules and data/). Relative
 * source paths are made absolute against the directory, so what gets registered does not
 * depend on where the command ran. TypeScript files load through tsx, which runs the CLI.
 */
export async function loadRepoDir(dir: string): Promise<FeatureRepoInput> {
  const root = resolve(dir);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(root);
  } catch {
    throw invalidFeatures(`feature repo directory '${dir}' does not exist`);
  }
  if (!st.isDirectory()) throw invalidFeatures(`'${dir}' is not a directory`);
  const defs: Definition[] = [];
  for (const file of listFiles(root)) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      if (!value || typeof value !== "object" || !("kind" in value)) continue;
      const parsed = definitionSchema.safeParse(value);
      if (!parsed.success)
        throw invalidFeatures(
          `${file}: export '${exportName}': ${parsed.error.issues.map((i) => i.message).join("; ")}`,
        );
      defs.push(parsed.data);
    }
  }
  return repoFromDefinitions(defs, root);
}

/** Groups definitions by kind, resolving relative file-source paths against `baseDir`. */
export function repoFromDefinitions(defs: Definition[], baseDir?: string): FeatureRepoInput {
  const repo = {
    entities: [],
    sources: [],
    featureViews: [],
    featureServices: [],
  } as Required<{ [K in keyof FeatureRepoInput]-?: NonNullable<FeatureRepoInput[K]> }>;
  // The same object exported twice (or re-exported) is one definition.
  const seen = new Set<Definition>();
  for (const d of defs) {
    if (seen.has(d)) continue;
    seen.add(d);
    if (d.kind === "entity") repo.entities.push(d);
    else if (d.kind === "file_source")
      repo.sources.push(baseDir ? { ...d, path: absolutePath(d.path, baseDir) } : d);
    else if (d.kind === "push_source") repo.sources.push(d);
    else if (d.kind === "feature_view") repo.featureViews.push(d);
    else repo.featureServices.push(d);
  }
  return repo;
}

function absolutePath(p: string, base: string): string {
  if (p.startsWith("s3://") || isAbsolute(p)) return p;
  const abs = resolve(base, p);
  return p.endsWith("/") ? `${abs}/` : abs;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) {
      if (!SKIPPED_DIRS.has(name) && !name.startsWith(".")) out.push(...listFiles(full));
    } else if (DEFINITION_FILE.test(name) && !name.endsWith(".d.ts") && !/\.test\.[mc]?[jt]s$/.test(name)) {
      out.push(full);
    }
  }
  return out;
}
