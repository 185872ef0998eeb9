/**
 * The gateway's CloudWatch metrics in AWS, as Embedded Metric Format lines in the function's
 * log (CloudWatch Logs extracts them; no PutMetricData call on the request's path). Namespace,
 * dimension and metric names are the ones stacks/Llm.ts's dashboard graphs (`LLM_METRICS` in
 * stacks/env.ts; a CDK test holds the two together).
 */
export const EMF = {
  namespace: "Keel/Llm",
  tokensIn: "PromptTokens",
  tokensOut: "CompletionTokens",
  cost: "CostUsd",
  ttft: "TimeToFirstTokenMs",
  duration: "RequestDurationMs",
  tokensPerSecond: "TokensPerSecond",
  upstreamErrors: "UpstreamErrors",
  fallbacks: "Fallbacks",
  cacheHits: "CacheHits",
  requests: "Requests",
} as const;

export interface EmfCall {
  model: string;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  latencyMs: number;
  ttftMs?: number;
  status: number;
  fallbacks: number;
  cacheHit: boolean;
}

/** One EMF line per gateway call, dimensions `Stage` and `Stage, Model`. */
export class EmfWriter {
  constructor(
    private readonly stage: string,
    private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
    private readonly now: () => number = Date.now,
  ) {}

  line(c: EmfCall): string {
    const values: Record<string, number> = {
      [EMF.requests]: 1,
      [EMF.tokensIn]: c.tokensIn,
      [EMF.tokensOut]: c.tokensOut,
      [EMF.cost]: c.cost,
      [EMF.duration]: c.latencyMs,
      [EMF.upstreamErrors]: c.status >= 500 ? 1 : 0,
      [EMF.fallbacks]: c.fallbacks,
      [EMF.cacheHits]: c.cacheHit ? 1 : 0,
    };
    if (c.ttftMs !== undefined) {
      values[EMF.ttft] = c.ttftMs;
      const streamSeconds = (c.latencyMs - c.ttftMs) / 1000;
      if (streamSeconds > 0 && c.tokensOut > 0) values[EMF.tokensPerSecond] = c.tokensOut / streamSeconds;
    }
    const unit = (name: string) =>
      name === EMF.duration || name === EMF.ttft ? "Milliseconds" : name === EMF.cost ? "None" : "Count";
    return JSON.stringify({
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: [
          {
            Namespace: EMF.namespace,
            Dimensions: [["Stage"], ["Stage", "Model"]],
            Metrics: Object.keys(values).map((Name) => ({ Name, Unit: unit(Name) })),
          },
        ],
      },
      Stage: this.stage,
      Model: c.model,
      ...values,
    });
  }

  record(c: EmfCall): void {
    this.write(this.line(c));
  }
}
