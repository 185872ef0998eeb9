import { ragRetrieveRequestSchema } from "@keel/contract";
import { KeelError, parseWith } from "@keel/core";
import type { z } from "zod";
import { readScope } from "./access";
import type { KnowledgeBase } from "./knowledge-base";
import type { LlmClient } from "./llm-client";
import type { SearchHit, VectorStore } from "./vector-store";

export const retrieveRequestSchema = ragRetrieveRequestSchema;
export type RetrieveRequest = z.input<typeof retrieveRequestSchema>;

export interface RetrievedChunk {
  id: string;
  doc: string;
  /** The document's source URI (what citations point to). */
  source: string;
  title: string;
  heading: string;
  text: string;
  team: string;
  classification: string;
  tags: string[];
  /** The final score: rerank score when reranked, else the fused (RRF) score, else the one ranking's. */
  score: number;
  scores: { vector?: number; text?: number; fused?: number; rerank?: number };
  /** Passes the knowledge base's relevance threshold ("I don't know" below it). */
  relevant: boolean;
}

export interface RetrieveResult {
  mode: "hybrid" | "vector" | "text";
  reranked: boolean;
  /** Set when the mode asked for is not available (no embedding route: full text only). */
  notice?: string;
  chunks: RetrievedChunk[];
}

/** Weighted reciprocal rank fusion: score = Σ weight / (k + rank), rank from 1. */
export function reciprocalRankFusion(
  rankings: Array<{ weight: number; ids: string[] }>,
  k = 60,
): Map<string, number> {
  const fused = new Map<string, number>();
  for (const { weight, ids } of rankings) {
    if (weight <= 0) continue;
    ids.forEach((id, i) => {
      fused.set(id, (fused.get(id) ?? 0) + weight / (k + i + 1));
    });
  }
  return fused;
}

export const NO_EMBEDDING_NOTICE =
  "this knowledge base has no embedding route: retrieval is full text (BM25) only";

/**
 * Hybrid retrieval: vector and full-text rankings (each filtered by the caller's access scope
 * and the metadata filters inside the store query), fused with weighted RRF, optionally
 * reranked by a cross-encoder, cut to k.
 */
export class Retriever {
  constructor(
    private readonly vectors: VectorStore,
    private readonly llm: LlmClient,
  ) {}

  async retrieve(
    kb: KnowledgeBase,
    raw: RetrieveRequest,
    opts: { exact?: boolean } = {},
  ): Promise<RetrieveResult> {
    const req = parseWith(retrieveRequestSchema, raw, "retrieval request");
    const defaults = kb.retrieval;
    const k = req.k ?? defaults.k;
    let mode = req.mode ?? (kb.embedding ? "hybrid" : "text");
    let notice: string | undefined;
    if (!kb.embedding && mode !== "text") {
      if (req.mode === "vector")
        throw new KeelError(
          "INVALID_PARAMETER_VALUE",
          `mode 'vector' needs an embedding route: ${NO_EMBEDDING_NOTICE}`,
        );
      mode = "text";
    }
    if (!kb.embedding) notice = NO_EMBEDDING_NOTICE;
    const rerank = req.rerank ?? defaults.rerank;
    const n = req.candidates ?? Math.max(20, k * 4);
    const search = { k: n, scope: readScope(kb), filter: req.filter, exact: opts.exact };
    const weights = {
      vector: req.weights?.vector ?? defaults.vectorWeight,
      text: req.weights?.text ?? defaults.textWeight,
    };

    const [vectorHits, textHits] = await Promise.all([
      mode !== "text" && kb.embedding
        ? this.llm
            .embed(kb.embedding.model, [req.query])
            .then(([v]) => this.vectors.vectorSearch(kb.name, v, search))
        : Promise.resolve([] as SearchHit[]),
      mode !== "vector"
        ? this.vectors.textSearch(kb.name, req.query, search)
        : Promise.resolve([] as SearchHit[]),
    ]);

    const byId = new Map<string, RetrievedChunk>();
    const entry = (h: SearchHit) => {
      let c = byId.get(h.chunk.id);
      if (!c) {
        const { ordinal: _o, tokens: _t, ...chunk } = h.chunk;
        c = { ...chunk, source: h.chunk.doc, score: 0, scores: {}, relevant: false };
        byId.set(h.chunk.id, c);
      }
      return c;
    };
    for (const h of vectorHits) entry(h).scores.vector = h.score;
    for (const h of textHits) entry(h).scores.text = h.score;

    let ranked: RetrievedChunk[];
    if (mode === "hybrid") {
      const fused = reciprocalRankFusion(
        [
          { weight: weights.vector, ids: vectorHits.map((h) => h.chunk.id) },
          { weight: weights.text, ids: textHits.map((h) => h.chunk.id) },
        ],
        defaults.rrfK,
      );
      ranked = [...fused.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([id, s]) => {
          const c = byId.get(id) as RetrievedChunk;
          c.scores.fused = s;
          c.score = s;
          return c;
        });
    } else {
      ranked = (mode === "vector" ? vectorHits : textHits).map((h) => {
        const c = byId.get(h.chunk.id) as RetrievedChunk;
        c.score = h.score;
        return c;
      });
    }

    if (rerank && ranked.length) {
      const scored = await this.llm.rerank(
        kb.rerank?.model,
        req.query,
        ranked.map((c) => c.text),
      );
      for (const s of scored) {
        const c = ranked[s.index];
        if (c) {
          c.scores.rerank = s.score;
          c.score = s.score;
        }
      }
      ranked = [...ranked].sort((a, b) => (b.scores.rerank ?? -Infinity) - (a.scores.rerank ?? -Infinity));
    }
    const top = ranked.slice(0, k);
    for (const c of top) c.relevant = isRelevant(c, kb, rerank);
    return { mode, reranked: rerank, ...(notice ? { notice } : {}), chunks: top };
  }
}

/** The "I don't know" test of one chunk: the strongest signal available must reach its threshold. */
function isRelevant(c: RetrievedChunk, kb: KnowledgeBase, reranked: boolean): boolean {
  const t = kb.retrieval;
  if (reranked && c.scores.rerank !== undefined) return c.scores.rerank >= t.minRerankScore;
  if (c.scores.vector !== undefined) return c.scores.vector >= t.minSimilarity;
  return c.scores.text !== undefined && c.scores.text > t.minTextScore;
}
