import { KeelError } from "@keel/core";
import type { IngestDocument } from "./documents";

type PdfJs = typeof import("pdfjs-dist/legacy/build/pdf.mjs");
/** pdf.js (Mozilla's, pure JavaScript, no network) loaded on first PDF, by a name bundlers leave alone. */
const PDFJS_MODULE = "pdfjs-dist/legacy/build/pdf.mjs";
let pdfjs: Promise<PdfJs> | undefined;
const loadPdfJs = () => {
  pdfjs ??= import(PDFJS_MODULE) as Promise<PdfJs>;
  return pdfjs;
};

export interface PdfText {
  /** The document's Title from its info dictionary, if any. */
  title?: string;
  /** Each page's text, page 1 first (lines kept; empty for a page without text, e.g. a scan). */
  pages: string[];
}

/** The text of a PDF, page by page; a PDF pdf.js cannot read is a KeelError naming `uri`. */
export async function extractPdfText(bytes: Uint8Array, uri = "document"): Promise<PdfText> {
  const { getDocument } = await loadPdfJs();
  const task = getDocument({
    data: new Uint8Array(bytes), // pdf.js takes ownership of (detaches) the buffer it is given
    isEvalSupported: false,
    useSystemFonts: false,
    disableFontFace: true,
    stopAtErrors: true,
    verbosity: 0,
  });
  try {
    const doc = await task.promise;
    const info = (await doc.getMetadata().catch(() => undefined))?.info as { Title?: unknown } | undefined;
    const pages: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      let text = "";
      for (const item of content.items) {
        if (!("str" in item)) continue;
        text += item.str + (item.hasEOL ? "\n" : "");
      }
      pages.push(text.replace(/[ \t]+\n/g, "\n").trim());
      page.cleanup();
    }
    const title = typeof info?.Title === "string" && info.Title.trim() ? info.Title.trim() : undefined;
    return { title, pages };
  } catch (e) {
    throw new KeelError("INVALID_PARAMETER_VALUE", `${uri}: not a readable PDF (${(e as Error).message})`);
  } finally {
    await task.destroy();
  }
}

/**
 * A PDF as a document: one Markdown section per page headed "Page N", so a chunk never spans two
 * pages and its heading (kept in the chunk's metadata and in citations) gives its page. Lines of
 * the text that look like Markdown headings are escaped so they cannot start a section.
 */
export function pdfToDocument(uri: string, pdf: PdfText): IngestDocument {
  const content = pdf.pages
    .map((text, i) => (text ? `## Page ${i + 1}\n\n${text.replace(/^(\s*)#/gm, "$1\\#")}` : ""))
    .filter(Boolean)
    .join("\n\n");
  return {
    uri,
    content,
    contentType: "markdown",
    title:
      pdf.title ??
      uri
        .split("/")
        .pop()
        ?.replace(/\.pdf$/i, ""),
  };
}

/** Reads a PDF's bytes into a document (see pdfToDocument). */
export async function pdfDocument(uri: string, bytes: Uint8Array): Promise<IngestDocument> {
  return pdfToDocument(uri, await extractPdfText(bytes, uri));
}
