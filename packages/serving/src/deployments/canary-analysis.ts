import { type Clock, pad } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Deployment } from "./deployment-model";
import { refLabel } from "./deployment-model";
import type { DeploymentService } from "./deployment-service";

/** Latency bucket upper bounds in ms; the last bucket is open-ended. */
const LATENCY_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, Number.POSITIVE_INFINITY];
const BUCKET_MS = 10_000;

interface Tally {
  count: number;
  errors: number;
  latency: number[];
}

const emptyTally = (): Tally => ({ count: 0, errors: 0, latency: new Array(LATENCY_MS.length).fill(0) });

/**
 * Per-version request outcomes, kept in memory on the request path and flushed to the
 * MetadataStore as atomic increments into 10-second buckets, so every router instance (each
 * Lambda) adds to the same window and the analysis sees all traffic.
 */
export class CanaryStats {
  private pending = new Map<string, { name: string; ref: string; bucket: number; tally: Tally }>();

  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts one outcome of `ref` within the deployment's traffic `epoch`. Shadow traffic is
   * counted apart (`role` "shadow"), so a version that is both canary and shadow is judged
   * on the traffic it answered.
   */
  record(
    deployment: string,
    epoch: number,
    ref: { model: string; version: string },
    ok: boolean,
    latencyMs: number,
    role: "live" | "shadow" = "live",
  ): void {
    const bucket = Math.floor(this.clock.now() / BUCKET_MS) * BUCKET_MS;
    const label = `${pad(epoch, 8)}#${role}#${refLabel(ref)}`;
    const k = `${deployment}|${label}|${bucket}`;
    let p = this.pending.get(k);
    if (!p) {
      p = { name: deployment, ref: label, bucket, tally: emptyTally() };
      this.pending.set(k, p);
    }
    p.tally.count++;
    if (!ok) p.tally.errors++;
    p.tally.latency[LATENCY_MS.findIndex((b) => latencyMs <= b)]++;
  }

  /** Writes what was recorded since the last flush. */
  async flush(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    await Promise.all(
      batch.map((p) =>
        this.store.update(
          { pk: `DEPSTATS#${p.name}`, sk: `${p.ref}#${pad(p.bucket)}` },
          {
            add: [
              ["count", p.tally.count],
              ["errors", p.tally.errors],
              ...p.tally.latency.map((c, i): [string, number] => [`l${i}`, c]).filter(([, c]) => c > 0),
            ],
          },
        ),
      ),
    );
  }

  /** Sums a version's buckets over the last `windowMs`. */
  async window(
    deployment: string,
    epoch: number,
    ref: { model: string; version: string },
    windowMs: number,
  ): Promise<Tally> {
    const label = `${pad(epoch, 8)}#live#${refLabel(ref)}`;
    const from = Math.floor((this.clock.now() - windowMs) / BUCKET_MS) * BUCKET_MS;
    const items = await this.store.queryAll({
      pk: `DEPSTATS#${deployment}`,
      between: [`${label}#${pad(from)}`, `${label}#${"9".repeat(16)}`],
    });
    const t = emptyTally();
    for (const it of items) {
      t.count += Number(it.count ?? 0);
      t.errors += Number(it.errors ?? 0);
      LATENCY_MS.forEach((_, i) => {
        t.latency[i] += Number(it[`l${i}`] ?? 0);
      });
    }
    return t;
  }
}

/** The 95th percentile's bucket bound (ms) of a tally; 0 when empty. */
export function p95(t: Tally): number {
  if (t.count === 0) return 0;
  let seen = 0;
  for (let i = 0; i < LATENCY_MS.length; i++) {
    seen += t.latency[i];
    if (seen >= 0.95 * t.count) return LATENCY_MS[i];
  }
  return Number.POSITIVE_INFINITY;
}

export interface AnalysisResult {
  deployment: string;
  decision: "promote" | "rollback" | "wait" | "none";
  reason: string;
  stable?: { requests: number; errorRate: number; p95Ms: number };
  canary?: { requests: number; errorRate: number; p95Ms: number };
}

/**
 * Automated canary analysis: compares the canary's error rate and p95 latency with the
 * stable version's over the deployment's window and promotes or rolls back. Waits while the
 * canary has seen fewer than `min_requests` requests.
 */
export class CanaryAnalysis {
  constructor(
    private readonly stats: CanaryStats,
    private readonly deployments: DeploymentService,
  ) {}

  async evaluate(d: Deployment): Promise<AnalysisResult> {
    if (!d.canary) return { deployment: d.name, decision: "none", reason: "no canary" };
    await this.stats.flush();
    const windowMs = d.analysis.window_s * 1000;
    const [s, c] = await Promise.all([
      this.stats.window(d.name, d.epoch, d.stable, windowMs),
      this.stats.window(d.name, d.epoch, d.canary, windowMs),
    ]);
    const summary = (t: Tally) => ({
      requests: t.count,
      errorRate: t.count ? t.errors / t.count : 0,
      p95Ms: p95(t),
    });
    const stable = summary(s);
    const canary = summary(c);
    const base = { deployment: d.name, stable, canary };
    if (canary.requests < d.analysis.min_requests) {
      return {
        ...base,
        decision: "wait",
        reason: `canary has ${canary.requests} of ${d.analysis.min_requests} requests needed`,
      };
    }
    if (canary.errorRate > stable.errorRate + d.analysis.max_error_rate_increase) {
      return {
        ...base,
        decision: "rollback",
        reason: `canary error rate ${pct(canary.errorRate)} vs stable ${pct(stable.errorRate)}`,
      };
    }
    const slower =
      canary.p95Ms > stable.p95Ms * d.analysis.max_latency_ratio &&
      canary.p95Ms - stable.p95Ms >= d.analysis.min_latency_delta_ms;
    if (stable.requests > 0 && slower) {
      return {
        ...base,
        decision: "rollback",
        reason: `canary p95 ${canary.p95Ms} ms vs stable ${stable.p95Ms} ms`,
      };
    }
    return { ...base, decision: "promote", reason: `canary healthy over ${canary.requests} requests` };
  }

  /** Evaluates and applies the decision (promote or roll back). */
  async run(name: string): Promise<AnalysisResult> {
    const result = await this.evaluate(await this.deployments.get(name));
    if (result.decision === "promote")
      await this.deployments.promote(name, `canary analysis: ${result.reason}`);
    if (result.decision === "rollback")
      await this.deployments.rollback(name, `canary analysis: ${result.reason}`);
    return result;
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
