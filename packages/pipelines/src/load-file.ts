import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isKeelError } from "@keel/core";
import { badDefinition } from "./errors";

type Esbuild = typeof import("esbuild");
interface Message {
  text: string;
  location: { file: string; line: number; column: number; lineText: string } | null;
}

/** Lines around a 1-based line with a caret under the column: what an editor would point at. */
export function codeFrame(source: string, line: number, column: number): string {
  const lines = source.split("\n");
  const first = Math.max(1, line - 2);
  const width = String(line + 1).length;
  const out: string[] = [];
  for (let n = first; n <= Math.min(lines.length, line + 1); n++) {
    out.push(`${n === line ? ">" : " "} ${String(n).padStart(width)} | ${lines[n - 1]}`);
    if (n === line) out.push(`  ${" ".repeat(width)} | ${" ".repeat(column)}^`);
  }
  return out.join("\n");
}

/**
 * Imports a pipeline file from any folder. The project's own files import as they are; a file
 * the plain import cannot load (outside the repository, where `@keel/*` does not resolve, or with
 * no package.json saying ESM) is bundled with esbuild into one ES module whose package imports
 * resolve from the file's folder first and Keel's own install second, so it shares Keel's module
 * instances. A syntax error becomes an INVALID_PARAMETER_VALUE naming file, line and column, with
 * a code frame in `details.frame`.
 */
export async function importPipelineFile(
  path: string,
  cacheKey = Date.now(),
): Promise<Record<string, unknown>> {
  try {
    return (await import(`${pathToFileURL(path).href}?t=${cacheKey}`)) as Record<string, unknown>;
  } catch (first) {
    // The file loaded and a definition in it was refused: that error is the answer.
    if (isKeelError(first)) throw first;
    return importBundled(path).catch((e) => {
      throw e === NOT_A_BUILD_ERROR ? first : e;
    });
  }
}

const NOT_A_BUILD_ERROR = Symbol("not a build error");

async function importBundled(path: string): Promise<Record<string, unknown>> {
  // Not a static import: Lambda bundles of this package neither contain nor need esbuild.
  const specifier = "esbuild";
  const esbuild = (await import(specifier)) as Esbuild;
  const keelDir = import.meta.dirname;
  let code: string;
  try {
    const built = await esbuild.build({
      entryPoints: [path],
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: "inline",
      logLevel: "silent",
      plugins: [
        {
          name: "keel-packages",
          setup(build) {
            build.onResolve({ filter: /^[^./]/ }, async (args) => {
              if (args.pluginData === "inner") return undefined;
              const bare = args.path.replace(/^node:/, "");
              if (args.path.startsWith("node:") || builtinModules.includes(bare.split("/")[0]))
                return { path: args.path, external: true };
              const dirs = args.path.startsWith("@keel/") ? [keelDir] : [args.resolveDir, keelDir];
              for (const resolveDir of dirs) {
                const r = await build.resolve(args.path, {
                  resolveDir,
                  kind: args.kind,
                  pluginData: "inner",
                });
                if (r.errors.length === 0 && r.path)
                  return { path: pathToFileURL(r.path).href, external: true };
              }
              return undefined;
            });
          },
        },
      ],
    });
    code = built.outputFiles[0].text;
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    const first = errors?.[0];
    if (!first) throw NOT_A_BUILD_ERROR;
    const loc = first.location;
    if (!loc) throw badDefinition(`${path}: ${first.text}`);
    const file = resolve(loc.file);
    let frame = `${loc.line} | ${loc.lineText}`;
    try {
      frame = codeFrame(readFileSync(file, "utf8"), loc.line, loc.column);
    } catch {
      // The file went away: the line esbuild quoted will do.
    }
    throw badDefinition(`${file}:${loc.line}:${loc.column + 1}: ${first.text}`, {
      file,
      line: loc.line,
      column: loc.column + 1,
      frame,
    });
  }
  const out = join(
    tmpdir(),
    `keel-pipeline-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.mjs`,
  );
  writeFileSync(out, code);
  try {
    return (await import(pathToFileURL(out).href)) as Record<string, unknown>;
  } finally {
    rmSync(out, { force: true });
  }
}
