import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { IngestDocument } from "./documents";

/** File names ingestion reads (Markdown, text, HTML). */
export const INGESTIBLE = /\.(md|markdown|mdx|txt|text|html?)$/i;

/** Every ingestible file under `dir` (sorted, hidden folders skipped), relative path as URI under `uriPrefix`. */
export async function listFolder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && INGESTIBLE.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** A file of `dir` as a document: its URI is `uriPrefix` + its path relative to `dir` (forward slashes). */
export async function readFolderDocument(dir: string, file: string, uriPrefix = ""): Promise<IngestDocument> {
  return {
    uri: uriPrefix + relative(dir, file).split(sep).join("/"),
    content: await readFile(file, "utf8"),
  };
}
