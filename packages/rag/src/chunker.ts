import type { ragChunkingSchema } from "@keel/contract";
import { decode, encode } from "gpt-tokenizer";
import type { z } from "zod";
import { htmlToText } from "./html-text";

export type ChunkingSettings = z.output<typeof ragChunkingSchema>;

export type ContentType = "markdown" | "html" | "text";

export interface Section {
  /** Heading path ("Guide > Install"), empty before the first heading. */
  heading: string;
  text: string;
}

export interface TextChunk {
  ordinal: number;
  heading: string;
  /** What is indexed and shown: the heading path line, then the section's text. */
  text: string;
  tokens: number;
}

/** Tokens of a text as chunking counts them. */
export function countTokens(text: string): number {
  return encode(text).length;
}

/** The content type a file name implies (unknown extensions are text). */
export function contentTypeOf(name: string): ContentType {
  if (/\.(md|markdown|mdx)$/i.test(name)) return "markdown";
  if (/\.html?$/i.test(name)) return "html";
  return "text";
}

/**
 * Sections of a Markdown document by ATX headings (`#`..`######`, not inside fenced code), each
 * with its heading path. Plain text is one section; HTML is converted first.
 */
export function sectionsOf(content: string, type: ContentType): { title?: string; sections: Section[] } {
  if (type === "html") {
    const { title, text } = htmlToText(content);
    const md = sectionsOf(text, "markdown");
    return { title: title ?? md.title, sections: md.sections };
  }
  if (type === "text") return { sections: [{ heading: "", text: content.trim() }].filter((s) => s.text) };
  const sections: Section[] = [];
  const path: string[] = [];
  let title: string | undefined;
  let lines: string[] = [];
  let inFence = false;
  const flush = () => {
    const text = lines.join("\n").trim();
    if (text) sections.push({ heading: path.filter(Boolean).join(" > "), text });
    lines = [];
  };
  for (const line of content.replace(/\r\n?/g, "\n").split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const m = inFence ? null : /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) {
      lines.push(line);
      continue;
    }
    flush();
    const level = m[1].length;
    path.length = level - 1;
    path[level - 1] = m[2];
    if (level === 1 && title === undefined) title = m[2];
  }
  flush();
  return { title, sections };
}

/** Splits a section's paragraphs into pieces of at most `max` tokens, paragraphs kept whole when they fit. */
function packParagraphs(text: string, max: number): number[][] {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
  const pieces: number[][] = [];
  let current: number[] = [];
  const sep = encode("\n\n");
  for (const p of paragraphs) {
    const tokens = encode(p);
    const joined = current.length ? current.length + sep.length + tokens.length : tokens.length;
    if (joined <= max) {
      current = current.length ? [...current, ...sep, ...tokens] : tokens;
      continue;
    }
    if (current.length) pieces.push(current);
    current = [];
    if (tokens.length <= max) current = tokens;
    else for (let i = 0; i < tokens.length; i += max) pieces.push(tokens.slice(i, i + max));
  }
  if (current.length) pieces.push(current);
  return pieces;
}

/**
 * Structure-aware token chunking: a chunk never spans two sections, carries its heading path
 * (so "Install" chunks say what they install), packs whole paragraphs while they fit in
 * `maxTokens`, splits longer ones by tokens, and repeats the last `overlapTokens` tokens of a
 * chunk at the start of the next chunk of the same section.
 */
export function chunkDocument(
  content: string,
  type: ContentType,
  settings: ChunkingSettings,
): { title?: string; chunks: TextChunk[] } {
  const { title, sections } = sectionsOf(content, type);
  const chunks: TextChunk[] = [];
  for (const section of sections) {
    const headingLine = section.heading ? `${section.heading}\n\n` : "";
    const headingTokens = encode(headingLine).length;
    const budget = Math.max(8, settings.maxTokens - headingTokens);
    const overlap = Math.min(settings.overlapTokens, Math.floor(budget / 2));
    const pieces = packParagraphs(section.text, budget - overlap);
    let previous: number[] = [];
    for (const piece of pieces) {
      const tokens = overlap && previous.length ? [...previous.slice(-overlap), ...piece] : piece;
      previous = piece;
      const body = decode(tokens).trim();
      chunks.push({
        ordinal: chunks.length,
        heading: section.heading,
        text: `${headingLine}${body}`,
        tokens: headingTokens + tokens.length,
      });
    }
  }
  return { title, chunks };
}
