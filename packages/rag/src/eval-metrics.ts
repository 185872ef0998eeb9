import { words } from "./citations";

/** Documents in first-retrieved order, each once (chunks of one document count as one hit). */
export function rankedDocs(docs: string[]): string[] {
  return [...new Set(docs)];
}

/** Share of the relevant documents found in the top k. */
export function recallAtK(ranked: string[], relevant: Set<string>, k: number): number {
  if (relevant.size === 0) return 0;
  return ranked.slice(0, k).filter((d) => relevant.has(d)).length / relevant.size;
}

/** 1 / rank of the first relevant document (0 when none is retrieved). */
export function reciprocalRank(ranked: string[], relevant: Set<string>): number {
  const i = ranked.findIndex((d) => relevant.has(d));
  return i < 0 ? 0 : 1 / (i + 1);
}

/** nDCG@k with binary relevance. */
export function ndcgAtK(ranked: string[], relevant: Set<string>, k: number): number {
  const dcg = ranked.slice(0, k).reduce((s, d, i) => s + (relevant.has(d) ? 1 / Math.log2(i + 2) : 0), 0);
  const ideal = Array.from({ length: Math.min(k, relevant.size) }, (_, i) => 1 / Math.log2(i + 2)).reduce(
    (a, b) => a + b,
    0,
  );
  return ideal === 0 ? 0 : dcg / ideal;
}

/** Share of cited chunks that come from a relevant document; undefined when nothing was cited. */
export function citationPrecision(citedDocs: string[], relevant: Set<string>): number | undefined {
  if (citedDocs.length === 0) return undefined;
  return citedDocs.filter((d) => relevant.has(d)).length / citedDocs.length;
}

const ARTICLES = new Set(["a", "an", "the"]);

/** SQuAD-style token F1 between an answer and a reference (lower-cased words, articles and [n] markers dropped). */
export function tokenF1(answer: string, reference: string): number {
  const norm = (t: string) => words(t.replace(/\[\d+\]/g, " ")).filter((w) => !ARTICLES.has(w));
  const a = norm(answer);
  const r = norm(reference);
  if (a.length === 0 || r.length === 0) return a.length === r.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const w of r) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of a) {
    const n = counts.get(w) ?? 0;
    if (n > 0) {
      common++;
      counts.set(w, n - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / a.length;
  const recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}

export const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
