import type { AuditLog } from "@keel/audit";
import { auditFirst } from "@keel/audit";
import {
  type LlmFeedback,
  type LlmFeedbackInput,
  type LlmVariantRow,
  llmFeedbackInputSchema,
} from "@keel/contract";
import type { Clock } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Caller } from "./caller";
import { LlmError } from "./errors";
import type { LlmMetrics } from "./metrics";
import type { UsageLog, UsageQuery } from "./usage-log";

export interface VariantQuery extends UsageQuery {
  model?: string;
}

const PK = "llm#feedback";

/**
 * Feedback on gateway answers, one item per request (a later one replaces it) under the team's
 * partition and in an index across teams, ordered by the request's time. A caller may rate only
 * a request its own team made: the usage record is looked up in the caller's team's partition,
 * so another team's request id is simply not found (404, which also does not reveal it exists).
 */
export class FeedbackStore {
  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly usage: UsageLog,
    private readonly metrics: LlmMetrics,
  ) {}

  async put(caller: Caller, input: LlmFeedbackInput): Promise<LlmFeedback> {
    const parsed = llmFeedbackInputSchema.safeParse(input);
    if (!parsed.success)
      throw new LlmError(
        "invalid",
        `invalid feedback: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
      );
    const { request_id: requestId, score, comment } = parsed.data;
    const rec = await this.usage.find(caller.team, requestId);
    if (!rec)
      throw new LlmError(
        "not_found",
        `no request ${requestId} by team ${caller.team}: feedback is accepted only from the team that made the request`,
      );
    const feedback: LlmFeedback = {
      requestId,
      team: caller.team,
      principal: caller.principal,
      ...(caller.key ? { key: caller.key.id } : {}),
      model: rec.model,
      ...(rec.deployment ? { deployment: rec.deployment } : {}),
      score: score === "up" ? 1 : score === "down" ? 0 : score,
      ...(comment !== undefined ? { comment } : {}),
      time: this.clock.now(),
    };
    await auditFirst(
      this.audit,
      { action: "llm.feedback.put", resource: `llm-request:${requestId}`, state: feedback },
      (mark) =>
        this.store.put({
          pk: `${PK}#${caller.team}`,
          sk: requestId,
          gsi1pk: PK,
          gsi1sk: requestId,
          feedback,
          ...mark,
        }),
    );
    const labels = { model: feedback.model, deployment: feedback.deployment ?? "-" };
    this.metrics.variantFeedback.inc(labels);
    this.metrics.variantScore.inc(labels, feedback.score);
    return feedback;
  }

  private async feedback(q: VariantQuery): Promise<LlmFeedback[]> {
    const between: [string, string] = [
      `${String(q.from ?? 0).padStart(15, "0")}`,
      `${String(q.to ?? 999_999_999_999_999).padStart(15, "0")}~`,
    ];
    const items = q.team
      ? await this.store.queryAll({ pk: `${PK}#${q.team}`, between })
      : await this.store.queryAll({ pk: PK, index: "gsi1", between });
    return items.map((i) => i.feedback as LlmFeedback);
  }

  /** Per route and deployment: requests, tokens, cost, latency p50, error rate and feedback. */
  async variants(q: VariantQuery): Promise<LlmVariantRow[]> {
    const [records, feedback] = await Promise.all([
      this.usage.query({ ...q, limit: 10_000 }),
      this.feedback(q),
    ]);
    const rows = new Map<string, { row: LlmVariantRow; latencies: number[]; scoreSum: number }>();
    const rowOf = (model: string, deployment: string) => {
      const k = `${model}\u0000${deployment}`;
      let r = rows.get(k);
      if (!r) {
        r = {
          row: {
            model,
            deployment,
            requests: 0,
            errors: 0,
            errorRate: 0,
            tokensIn: 0,
            tokensOut: 0,
            cost: 0,
            latencyP50Ms: 0,
            feedbackCount: 0,
          },
          latencies: [],
          scoreSum: 0,
        };
        rows.set(k, r);
      }
      return r;
    };
    for (const u of records) {
      // The variant first chosen: a fallback's answer is its error, not a request of the deployment that answered.
      const variant = u.variant ?? u.deployment;
      if (!variant || (q.model && u.model !== q.model)) continue;
      const r = rowOf(u.model, variant);
      r.row.requests++;
      if (u.status >= 400 || variant !== u.deployment) r.row.errors++;
      r.row.tokensIn += u.tokensIn;
      r.row.tokensOut += u.tokensOut;
      r.row.cost += u.cost;
      r.latencies.push(u.latencyMs);
    }
    for (const f of feedback) {
      if (!f.deployment || (q.model && f.model !== q.model)) continue;
      const r = rowOf(f.model, f.deployment);
      r.row.feedbackCount++;
      r.scoreSum += f.score;
    }
    return [...rows.values()]
      .map(({ row, latencies, scoreSum }) => ({
        ...row,
        errorRate: row.requests ? row.errors / row.requests : 0,
        cost: Math.round(row.cost * 1e8) / 1e8,
        latencyP50Ms: median(latencies),
        ...(row.feedbackCount ? { feedbackMean: scoreSum / row.feedbackCount } : {}),
      }))
      .sort((a, b) => a.model.localeCompare(b.model) || a.deployment.localeCompare(b.deployment));
  }
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}
