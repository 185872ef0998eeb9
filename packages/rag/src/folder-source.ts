import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { IngestDocument } from "./documents";
import { pdfDocument } from "./pdf-text";

/** File names ingestion reads (Markdown, text, HTML, PDF). */
export const INGESTIBLE = /\.(md|markdown|mdx|txt|text|html?|pdf)$/i;

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

/**
 * A Markdown file's front matter (`---` lines at the top) as document metadata: `title`,
 * `team`, `classification` and `tags` (`a, b` or `[a, b]`); other keys are ignored.
 */
export function splitFrontMatter(content: string): {
  meta: Pick<IngestDocument, "title" | "team" | "classification" | "tags">;
  body: string;
} {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(content);
  if (!m) return { meta: {}, body: content };
  const meta: Pick<IngestDocument, "title" | "team" | "classification" | "tags"> = {};
  for (const line of m[1].split(/\r?\n/)) {
    const kv = /^\s*(title|team|classification|tags)\s*:\s*(.*?)\s*$/.exec(line);
    if (!kv) continue;
    const value = kv[2].replace(/^["']|["']$/g, "");
    if (kv[1] === "tags")
      meta.tags = value
        .replace(/^\[|\]$/g, "")
        .split(",")
        .map((t) => t.trim().replace(/^["']|["']$/g, ""))
        .filter(Boolean);
    else meta[kv[1] as "title" | "team" | "classification"] = value;
  }
  return { meta, body: content.slice(m[0].length) };
}

/**
 * A file of `dir` as a document: its URI is `uriPrefix` + its path relative to `dir` (forward
 * slashes); a Markdown file's front matter gives its title, team, classification and tags.
 */
export async function readFolderDocument(dir: string, file: string, uriPrefix = ""): Promise<IngestDocument> {
  return sourceDocument(uriPrefix + relative(dir, file).split(sep).join("/"), await readFile(file));
}

/** A file's bytes as a document: PDF text page by page, else UTF-8 text (front matter read from Markdown). */
export function sourceDocument(uri: string, bytes: Uint8Array): Promise<IngestDocument> {
  if (/\.pdf$/i.test(uri)) return pdfDocument(uri, bytes);
  return Promise.resolve(fileDocument(uri, Buffer.from(bytes).toString("utf8")));
}

/** A file's text as a document (front matter read from Markdown). */
export function fileDocument(uri: string, raw: string): IngestDocument {
  if (!/\.(md|markdown|mdx)$/i.test(uri)) return { uri, content: raw };
  const { meta, body } = splitFrontMatter(raw);
  return { uri, content: body, ...meta };
}

/** A source file that could not be read as a document (a corrupt PDF...): reported, not fatal. */
export interface SourceFailure {
  uri: string;
  error: string;
}

/**
 * Reads every source with `read`; one that fails is reported in `failed` and the others are
 * still read, so one corrupt file does not abort the ingest of a folder.
 */
export async function readSources<S>(
  sources: S[],
  uriOf: (s: S) => string,
  read: (s: S) => Promise<IngestDocument>,
): Promise<{ documents: IngestDocument[]; failed: SourceFailure[] }> {
  const documents: IngestDocument[] = [];
  const failed: SourceFailure[] = [];
  for (const s of sources) {
    try {
      documents.push(await read(s));
    } catch (e) {
      failed.push({ uri: uriOf(s), error: (e as Error).message });
    }
  }
  return { documents, failed };
}

/** Every ingestible file under `dir` read as documents (see readSources). */
export async function readFolder(
  dir: string,
  files: string[],
  uriPrefix = "",
): Promise<{ documents: IngestDocument[]; failed: SourceFailure[] }> {
  return readSources(
    files,
    (f) => uriPrefix + relative(dir, f).split(sep).join("/"),
    (f) => readFolderDocument(dir, f, uriPrefix),
  );
}
