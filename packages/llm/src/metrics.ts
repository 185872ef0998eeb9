/**
 * The gateway's Prometheus metrics (text format 0.0.4), appended to `/metrics`. Label values
 * are bounded: `model` is a route name (routes are data an admin creates) or `other` past
 * MAX_SERIES distinct values, `team` likewise, `direction` is input|output.
 */
type Labels = Record<string, string>;
const MAX_VALUES = 200;

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k].replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

class Series<V> {
  readonly values = new Map<string, V>();
  private readonly seen = new Map<string, Set<string>>();
  /** Label sets already bound, by their raw names and values: a request's metrics skip the sort and escaping. */
  private readonly memo = new Map<string, string>();
  /** Caps each label's distinct values: later ones are reported as `other`. */
  bound(labels: Labels): string {
    let raw = "";
    for (const k in labels) raw += `${k}\u0001${labels[k]}\u0002`;
    const hit = this.memo.get(raw);
    if (hit !== undefined) return hit;
    const bound = this.boundOnce(labels);
    if (this.memo.size < 10_000) this.memo.set(raw, bound);
    return bound;
  }

  private boundOnce(labels: Labels): string {
    const out: Labels = {};
    for (const [k, v] of Object.entries(labels)) {
      let s = this.seen.get(k);
      if (!s) {
        s = new Set();
        this.seen.set(k, s);
      }
      if (!s.has(v) && s.size >= MAX_VALUES) out[k] = "other";
      else {
        s.add(v);
        out[k] = v;
      }
    }
    return key(out);
  }
}

export class Counter extends Series<number> {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" = "counter",
  ) {
    super();
  }
  inc(labels: Labels, by = 1): void {
    const k = this.bound(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(labels: Labels, v: number): void {
    this.values.set(this.bound(labels), v);
  }
  get(labels: Labels): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [k, v] of this.values) lines.push(`${this.name}{${k}} ${v}`);
    return lines.join("\n");
  }
}

export class Histogram extends Series<{ counts: number[]; sum: number; n: number }> {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {
    super();
  }
  observe(labels: Labels, v: number): void {
    const k = this.bound(labels);
    let s = this.values.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, n: 0 };
      this.values.set(k, s);
    }
    this.buckets.forEach((b, i) => {
      if (v <= b) s.counts[i]++;
    });
    s.sum += v;
    s.n++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.values) {
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket{${k},le="${b}"} ${s.counts[i]}`);
      });
      lines.push(
        `${this.name}_bucket{${k},le="+Inf"} ${s.n}`,
        `${this.name}_sum{${k}} ${s.sum}`,
        `${this.name}_count{${k}} ${s.n}`,
      );
    }
    return lines.join("\n");
  }
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class LlmMetrics {
  readonly tokens = new Counter(
    "llm_tokens_total",
    "Tokens through the gateway by model, direction and team",
  );
  readonly requests = new Counter("llm_requests_total", "Gateway requests by model, team and outcome");
  readonly duration = new Histogram("llm_request_duration_seconds", "Gateway request duration", SECONDS);
  readonly ttft = new Histogram(
    "llm_time_to_first_token_seconds",
    "Time to the first streamed token",
    SECONDS,
  );
  readonly tokensPerSecond = new Histogram(
    "llm_output_tokens_per_second",
    "Output tokens per second of streamed answers",
    [1, 5, 10, 25, 50, 100, 250, 500, 1000],
  );
  readonly upstreamErrors = new Counter("llm_upstream_errors_total", "Upstream failures by model and status");
  readonly fallbacks = new Counter("llm_fallbacks_total", "Requests answered by a fallback deployment");
  readonly cacheHits = new Counter("llm_cache_hits_total", "Requests answered from the exact cache");
  readonly budgetUsed = new Counter(
    "llm_budget_used_ratio",
    "Share of the team's budget spent this period",
    "gauge",
  );
  readonly redactions = new Counter("llm_guardrail_findings_total", "PII findings by kind and direction");
  readonly semanticCache = new Counter(
    "llm_semantic_cache_lookups_total",
    "Semantic cache lookups by model and outcome (hit, miss, error)",
  );
  /** Per A/B variant (a route's deployment): requests by outcome, cost, feedback. */
  readonly variantRequests = new Counter(
    "llm_variant_requests_total",
    "Requests by route, deployment (variant) and outcome",
  );
  readonly variantCost = new Counter("llm_variant_cost_usd_total", "Cost in USD by route and deployment");
  readonly variantFeedback = new Counter(
    "llm_variant_feedback_total",
    "Feedback received by route and deployment",
  );
  readonly variantScore = new Counter(
    "llm_variant_feedback_score_sum",
    "Sum of feedback scores (0..1) by route and deployment; divide by llm_variant_feedback_total",
  );

  countVariant(model: string, deployment: string, ok: boolean, cost: number): void {
    this.variantRequests.inc({ model, deployment, outcome: ok ? "ok" : "error" });
    if (cost) this.variantCost.inc({ model, deployment }, cost);
  }

  render(): string {
    return `${[
      this.tokens,
      this.requests,
      this.duration,
      this.ttft,
      this.tokensPerSecond,
      this.upstreamErrors,
      this.fallbacks,
      this.cacheHits,
      this.budgetUsed,
      this.redactions,
      this.semanticCache,
      this.variantRequests,
      this.variantCost,
      this.variantFeedback,
      this.variantScore,
    ]
      .map((m) => m.render())
      .join("\n")}\n`;
  }
}
