import type { RetrievedChunk } from "./retriever";

export interface SourceRef {
  /** The number the prompt gave this chunk ([n]). */
  n: number;
  chunkId: string;
  doc: string;
  source: string;
  title: string;
  heading: string;
}

export interface SentenceCitation {
  sentence: string;
  /** Character offsets of the sentence in the answer. */
  start: number;
  end: number;
  sources: SourceRef[];
}

/** The words of a text for overlap measures: lower-cased letters and digits. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

const STOP = new Set(
  "a an and are as at be but by for from has have i in is it its of on or that the this to was were will with what which who how when where why do does not no".split(
    " ",
  ),
);
const contentWords = (t: string) => words(t).filter((w) => !STOP.has(w));

/** Sentences of an answer with their offsets (split after . ! ? and citation markers, or line breaks). */
export function sentences(answer: string): Array<{ text: string; start: number; end: number }> {
  const out: Array<{ text: string; start: number; end: number }> = [];
  const re = /[^.!?\n]+(?:[.!?]+(?:\s*\[\d+\])*|$|\n)/g;
  for (const m of answer.matchAll(re)) {
    const raw = m[0];
    const lead = raw.length - raw.trimStart().length;
    const text = raw.trim();
    if (!text || !/[\p{L}\p{N}]/u.test(text)) continue;
    const start = (m.index ?? 0) + lead;
    out.push({ text, start, end: start + text.length });
  }
  return out;
}

/** The sources list the prompt numbers from 1. */
export function sourceRefs(chunks: RetrievedChunk[]): SourceRef[] {
  return chunks.map((c, i) => ({
    n: i + 1,
    chunkId: c.id,
    doc: c.doc,
    source: c.source,
    title: c.title,
    heading: c.heading,
  }));
}

/**
 * Maps each sentence of the answer to the chunks that support it: the `[n]` markers the model
 * wrote (numbers outside the sources are ignored), or, for a sentence without markers, the
 * chunk sharing the most content words with it when at least half of them are shared.
 */
export function citeSentences(
  answer: string,
  refs: SourceRef[],
  chunks: RetrievedChunk[],
): SentenceCitation[] {
  const out: SentenceCitation[] = [];
  const chunkWords = chunks.map((c) => new Set(contentWords(c.text)));
  for (const s of sentences(answer)) {
    const marked = [...s.text.matchAll(/\[(\d+)\]/g)]
      .map((m) => refs[Number(m[1]) - 1])
      .filter((r): r is SourceRef => !!r);
    let sources = [...new Map(marked.map((r) => [r.chunkId, r])).values()];
    if (sources.length === 0) {
      const ws = [...new Set(contentWords(s.text.replace(/\[\d+\]/g, "")))];
      if (ws.length >= 3) {
        let best = -1;
        let bestShare = 0;
        chunkWords.forEach((cw, i) => {
          const share = ws.filter((w) => cw.has(w)).length / ws.length;
          if (share > bestShare) {
            bestShare = share;
            best = i;
          }
        });
        if (best >= 0 && bestShare >= 0.5) sources = [refs[best]];
      }
    }
    if (sources.length) out.push({ sentence: s.text, start: s.start, end: s.end, sources });
  }
  return out;
}
