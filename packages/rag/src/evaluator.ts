import { ragEvaluateRequestSchema, ragGoldenQuestionSchema } from "@keel/contract";
import type { TrackingRunWriter } from "@keel/core";
import type { z } from "zod";
import type { Answerer } from "./answerer";
import {
  citationPrecision,
  mean,
  ndcgAtK,
  rankedDocs,
  recallAtK,
  reciprocalRank,
  tokenF1,
} from "./eval-metrics";
import type { KnowledgeBase } from "./knowledge-base";
import type { Retriever } from "./retriever";

export const goldenQuestionSchema = ragGoldenQuestionSchema;
export type GoldenQuestion = z.input<typeof goldenQuestionSchema>;
export const evaluateRequestSchema = ragEvaluateRequestSchema;
export type EvaluateRequest = z.input<typeof evaluateRequestSchema>;

/** The part of `@keel/tracking`'s TrackingService an evaluation logs through (MLflow request shapes). */
export type RagTracking = TrackingRunWriter;

export interface QuestionOutcome {
  question: string;
  retrieved: string[];
  recall: number;
  reciprocalRank: number;
  ndcg: number;
  answer?: string;
  answered?: boolean;
  citationPrecision?: number;
  tokenF1?: number;
}

export interface EvaluationResult {
  runId?: string;
  experimentId?: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  questions: QuestionOutcome[];
}

async function experimentId(tracking: RagTracking, name: string): Promise<string> {
  try {
    return (await tracking.getExperimentByName(name)).experiment.experiment_id;
  } catch (e) {
    if ((e as { code?: string }).code !== "RESOURCE_DOES_NOT_EXIST") throw e;
    try {
      return (await tracking.createExperiment({ name })).experiment_id;
    } catch (again) {
      if ((again as { code?: string }).code !== "RESOURCE_ALREADY_EXISTS") throw again;
      return (await tracking.getExperimentByName(name)).experiment.experiment_id;
    }
  }
}

/**
 * Retrieval (recall@k, MRR, nDCG@k over documents) and, with `answers`, answer quality
 * (citation precision, token F1 against the reference) over a golden set. Each evaluation is
 * one tracking run: params are the settings compared (chunking, k, fusion weights, reranker,
 * models), so two settings compare side by side in the runs table.
 */
export class Evaluator {
  constructor(
    private readonly retriever: Retriever,
    private readonly answerer: Answerer,
    private readonly tracking: RagTracking | undefined,
    private readonly now: () => number,
  ) {}

  params(kb: KnowledgeBase, req: z.output<typeof evaluateRequestSchema>): Record<string, string> {
    return {
      kb: kb.name,
      k: String(req.k),
      mode: req.mode ?? (kb.embedding ? "hybrid" : "text"),
      "chunking.max_tokens": String(kb.chunking.maxTokens),
      "chunking.overlap_tokens": String(kb.chunking.overlapTokens),
      "fusion.vector_weight": String(req.weights?.vector ?? kb.retrieval.vectorWeight),
      "fusion.text_weight": String(req.weights?.text ?? kb.retrieval.textWeight),
      "fusion.rrf_k": String(kb.retrieval.rrfK),
      reranker: (req.rerank ?? kb.retrieval.rerank) ? (kb.rerank?.model ?? "rerank") : "none",
      "embedding.model": kb.embedding?.model ?? "none",
      "generation.model": req.answers ? (kb.generation?.model ?? "none") : "none",
      questions: String(req.questions.length),
    };
  }

  async evaluate(kb: KnowledgeBase, req: z.output<typeof evaluateRequestSchema>): Promise<EvaluationResult> {
    const params = this.params(kb, req);
    const outcomes: QuestionOutcome[] = [];
    for (const q of req.questions) {
      const relevant = new Set(q.relevant);
      const r = await this.retriever.retrieve(kb, {
        query: q.question,
        k: req.k,
        mode: req.mode,
        weights: req.weights,
        rerank: req.rerank,
      });
      const ranked = rankedDocs(r.chunks.map((c) => c.doc));
      const o: QuestionOutcome = {
        question: q.question,
        retrieved: ranked,
        recall: recallAtK(ranked, relevant, req.k),
        reciprocalRank: reciprocalRank(ranked, relevant),
        ndcg: ndcgAtK(ranked, relevant, req.k),
      };
      if (req.answers) {
        const a = await this.answerer.answer(kb, {
          question: q.question,
          k: req.k,
          mode: req.mode,
          weights: req.weights,
          rerank: req.rerank,
        });
        o.answer = a.answer;
        o.answered = a.answered;
        const cited = a.citations.flatMap((c) => c.sources.map((s) => s.doc));
        o.citationPrecision = citationPrecision(cited, relevant);
        if (q.reference !== undefined) o.tokenF1 = tokenF1(a.answer, q.reference);
      }
      outcomes.push(o);
    }
    const metrics: Record<string, number> = {
      [`recall_at_${req.k}`]: mean(outcomes.map((o) => o.recall)),
      mrr: mean(outcomes.map((o) => o.reciprocalRank)),
      [`ndcg_at_${req.k}`]: mean(outcomes.map((o) => o.ndcg)),
    };
    if (req.answers) {
      const cp = outcomes.map((o) => o.citationPrecision).filter((x): x is number => x !== undefined);
      const f1 = outcomes.map((o) => o.tokenF1).filter((x): x is number => x !== undefined);
      metrics.citation_precision = mean(cp);
      if (f1.length) metrics.token_f1 = mean(f1);
      metrics.answered_share = mean(outcomes.map((o) => (o.answered ? 1 : 0)));
    }
    if (!this.tracking) return { params, metrics, questions: outcomes };
    return { ...(await this.log(kb, req, params, metrics)), params, metrics, questions: outcomes };
  }

  private async log(
    kb: KnowledgeBase,
    req: z.output<typeof evaluateRequestSchema>,
    params: Record<string, string>,
    metrics: Record<string, number>,
  ): Promise<{ runId: string; experimentId: string }> {
    const tracking = this.tracking as RagTracking;
    const expId = await experimentId(tracking, req.experiment);
    const start = this.now();
    const { run } = await tracking.createRun({
      experiment_id: expId,
      run_name: req.runName ?? `${kb.name}-k${req.k}-c${kb.chunking.maxTokens}`,
      start_time: start,
      tags: [
        { key: "keel.rag.kb", value: kb.name },
        { key: "keel.rag.evaluation", value: "true" },
      ],
    });
    const runId = run.info.run_id;
    await tracking.logBatch({
      run_id: runId,
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: start, step: 0 })),
    });
    await tracking.updateRun({ run_id: runId, status: "FINISHED", end_time: this.now() });
    return { runId, experimentId: expId };
  }
}
