/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and
 * histograms with labels. Enough for /metrics without a client library.
 */
type Labels = Record<string, string>;

function renderLabels(labels: Labels): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.join(",");
}

/** Rendered label sets by their names and values in the caller's order (bounded; series are few). */
const rendered = new Map<string, string>();

/**
 * A series' key (its labels as rendered in the exposition). Called several times per
 * inference request, so the sorting and escaping happen once per label set, not per call.
 */
function labelKey(labels: Labels): string {
  const raw = JSON.stringify(labels);
  let key = rendered.get(raw);
  if (key === undefined) {
    if (rendered.size >= 10_000) rendered.clear();
    key = renderLabels(labels);
    rendered.set(raw, key);
  }
  return key;
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly kind: "counter" | "gauge" = "counter",
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.kind}`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}
  observe(labels: Labels, value: number): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  /** Observations of one series: how many, their sum, and the count per bucket (cumulative). */
  snapshot(labels: Labels): { count: number; sum: number; buckets: Record<string, number> } {
    const s = this.series.get(labelKey(labels));
    return {
      count: s?.count ?? 0,
      sum: s?.sum ?? 0,
      buckets: Object.fromEntries(this.buckets.map((b, i) => [String(b), s?.counts[i] ?? 0])),
    };
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : "";
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return lines.join("\n");
  }
}

const SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Every metric the model server and the router publish. */
export class ServingMetrics {
  readonly requestSuccess = new Counter(
    "keel_inference_request_success_total",
    "Inference requests that succeeded",
  );
  readonly requestFailure = new Counter(
    "keel_inference_request_failure_total",
    "Inference requests that failed, by reason",
  );
  readonly queueSeconds = new Histogram(
    "keel_inference_queue_duration_seconds",
    "Time requests waited in the scheduler queue",
    SECONDS,
  );
  readonly computeSeconds = new Histogram(
    "keel_inference_compute_duration_seconds",
    "Model execution time per batch",
    SECONDS,
  );
  readonly batchSize = new Histogram(
    "keel_inference_batch_size",
    "Rows per executed batch",
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  );
  readonly queueDepth = new Counter(
    "keel_inference_queue_depth",
    "Requests waiting in the scheduler queue",
    "gauge",
  );
  readonly routerRequests = new Counter(
    "keel_router_requests_total",
    "Router requests by deployment, version and outcome",
  );
  readonly routerSeconds = new Histogram(
    "keel_router_duration_seconds",
    "Router end-to-end latency",
    SECONDS,
  );
  readonly shadowFailures = new Counter(
    "keel_router_shadow_failures_total",
    "Shadow requests that failed (never seen by callers)",
  );

  render(): string {
    const all: Metric[] = [
      this.requestSuccess,
      this.requestFailure,
      this.queueSeconds,
      this.computeSeconds,
      this.batchSize,
      this.queueDepth,
      this.routerRequests,
      this.routerSeconds,
      this.shadowFailures,
    ];
    return `${all.map((m) => m.render()).join("\n")}\n`;
  }
}
