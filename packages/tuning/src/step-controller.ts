import type { Clock } from "@keel/core";
import { KeelError } from "@keel/core";
import { algorithmFor, stoppingRuleFor } from "./algorithms";
import type { TuningSpec } from "./definition";
import { noSuchTuning } from "./errors";
import {
  bestOf,
  lossSign,
  observationsOf,
  PROGRESS_PARAM,
  progressOf,
  progressPath,
  stoppingMetric,
} from "./experiment-state";
import type { ExperimentRecord, TrialRecord, TuningStore } from "./store";

/** What the state machine sends the controller Lambda. */
export type ControllerEvent =
  | { action: "suggest"; tuning: string; execution?: string }
  | { action: "record"; tuning: string; execution?: string; results: TrialResultItem[] }
  | { action: "finish"; tuning: string; execution?: string };

/** Rounds a running trial reports (step = budget spent). */
export type ProgressRound = { step: number; metrics: Record<string, number> };

/** One element of the Map's output: the trial it ran and what came back (or the caught failure). */
export interface TrialResultItem {
  number: number;
  attempt: number;
  params?: Record<string, unknown>;
  run?: { metrics?: Record<string, unknown>; output?: unknown };
  failure?: { Error?: string; Cause?: string };
}

/** Numeric leaves of a JSON value as dotted names ("evaluate.auc"): a pipeline output's metrics. */
export function flattenMetrics(
  v: unknown,
  prefix = "",
  out: Record<string, number> = {},
): Record<string, number> {
  if (typeof v === "number" && Number.isFinite(v) && prefix) out[prefix] = v;
  else if (v && typeof v === "object" && !Array.isArray(v))
    for (const [k, x] of Object.entries(v)) flattenMetrics(x, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/**
 * The controller Lambda of the tuning state machine: stateless, every call reads and writes the
 * experiment in the MetadataStore. `suggest` returns the next batch (retries and interrupted
 * trials first, then new suggestions recorded before they run), `record` stores the Map's
 * results (a failed trial is retried up to maxRetries, then recorded FAILED), `finish` records
 * the best trial. Early stopping: a trial's trainer reports its rounds to `progress` (through
 * the tuning API's progress endpoint, whose path each suggested trial carries as the parameter
 * `keelTuningProgress`); the rule decides from the curves in the store, a stop is recorded as
 * the trial's `stoppedAt` and answered `{stop: true}` (the trainer ends between rounds), and
 * `record` then marks the trial EARLY_STOPPED whatever its execution returned.
 */
export class TuningStepController {
  constructor(
    private readonly store: TuningStore,
    private readonly clock: Clock,
    /** Specs of the deployed tuning definitions, by name (a stored experiment carries its own). */
    private readonly specs: (name: string) => TuningSpec | undefined,
  ) {}

  async handle(event: ControllerEvent): Promise<Record<string, unknown>> {
    switch (event.action) {
      case "suggest":
        return this.suggest(event.tuning);
      case "record":
        await this.record(event.tuning, event.results);
        return {};
      case "finish":
        return this.finish(event.tuning);
    }
  }

  private async experiment(name: string): Promise<ExperimentRecord> {
    const found = await this.store.find(name);
    if (found) return found;
    const spec = this.specs(name);
    if (!spec) throw noSuchTuning(name);
    const now = this.clock.now();
    const rec: ExperimentRecord = { name, status: "RUNNING", spec, createdAt: now, updatedAt: now };
    await this.store.create(rec).catch(() => undefined);
    return (await this.store.find(name)) ?? rec;
  }

  async suggest(name: string): Promise<{ done: boolean; trials: Array<Record<string, unknown>> }> {
    const exp = await this.experiment(name);
    if (exp.stopRequested) return { done: true, trials: [] };
    const spec = exp.spec;
    const trials = await this.store.trials(name);
    const batch: TrialRecord[] = trials
      .filter((t) => t.status === "PENDING" || t.status === "RUNNING" || t.status === "STOPPED")
      .slice(0, spec.parallelTrials);
    let next = trials.reduce((m, t) => Math.max(m, t.number + 1), 0);
    const count = Math.min(spec.parallelTrials - batch.length, spec.maxTrials - next);
    if (count > 0) {
      const numbers = Array.from({ length: count }, (_, i) => next + i);
      const suggested = algorithmFor(spec).suggest({
        space: spec.parameters,
        history: observationsOf(trials, lossSign(spec)),
        numbers,
        seed: spec.seed,
      });
      for (const [i, params] of suggested.entries()) {
        const t: TrialRecord = { number: numbers[i], params, status: "PENDING", attempts: 0, curve: [] };
        if (await this.store.addTrial(name, t)) batch.push(t);
      }
      next += count;
    }
    const es = spec.earlyStopping?.rule === "asha" ? spec.earlyStopping : undefined;
    const out: Array<Record<string, unknown>> = [];
    for (const t of batch) {
      const attempt = t.attempts + 1;
      await this.store.updateTrial(
        name,
        t.number,
        { status: "RUNNING", attempts: attempt, startTime: this.clock.now(), curve: [] },
        ["endTime", "error", "stoppedAt", "value", "metrics"],
      );
      out.push({
        number: t.number,
        attempt,
        params: {
          ...t.params,
          ...(es?.budgetParam ? { [es.budgetParam]: es.maxBudget } : {}),
          ...(spec.earlyStopping ? { [PROGRESS_PARAM]: progressPath(name, t.number, attempt) } : {}),
        },
      });
    }
    return { done: out.length === 0, trials: out };
  }

  /** A running trial's rounds: appended to its curve; answers whether the rule stops it. */
  async progress(
    name: string,
    trial: number,
    attempt: number,
    rounds: ProgressRound[],
  ): Promise<{ stop: boolean }> {
    const exp = await this.store.find(name);
    if (!exp) throw noSuchTuning(name);
    const trials = await this.store.trials(name);
    const t = trials.find((x) => x.number === trial);
    if (!t) throw new KeelError("RESOURCE_DOES_NOT_EXIST", `tuning "${name}" has no trial ${trial}`);
    // A report from an attempt that is over, or for a trial already stopped: stop it.
    if (t.attempts !== attempt || t.status !== "RUNNING") return { stop: true };
    if (t.stoppedAt !== undefined || exp.stopRequested) return { stop: true };
    const rule = stoppingRuleFor(exp.spec);
    if (!rule) return { stop: false };
    const { metric, sign } = stoppingMetric(exp.spec);
    let prev = t.curve.at(-1)?.[0] ?? 0;
    const points = rounds
      .filter((r) => Number.isFinite(r.step) && Number.isFinite(r.metrics?.[metric]))
      .map((r): [number, number] => [r.step, r.metrics[metric]])
      .sort((a, b) => a[0] - b[0])
      .filter(([step]) => step > prev);
    if (!points.length) return { stop: false };
    await this.store.appendCurve(name, trial, points);
    const others = trials.filter((o) => o.number !== trial).map((o) => progressOf(o, sign));
    const curve = [...t.curve];
    for (const p of points) {
      curve.push(p);
      if (rule.shouldStop(progressOf({ ...t, curve }, sign), prev, others)) {
        await this.store.updateTrial(name, trial, { stoppedAt: p[0] });
        return { stop: true };
      }
      prev = p[0];
    }
    return { stop: false };
  }

  async record(name: string, results: TrialResultItem[]): Promise<void> {
    const spec = (await this.experiment(name)).spec;
    const recorded = new Map((await this.store.trials(name)).map((t) => [t.number, t]));
    for (const r of results) {
      const now = this.clock.now();
      const metrics = flattenMetrics(r.run?.metrics ?? r.run?.output ?? {});
      const value = metrics[spec.objective.metric];
      const stoppedAt = recorded.get(r.number)?.stoppedAt;
      if (stoppedAt !== undefined) {
        // Stopped by the rule: whatever the execution returned (a TrainingStopped failure, or a
        // finish that beat the stop), the trial is EARLY_STOPPED and never retried.
        await this.store.updateTrial(name, r.number, {
          status: "EARLY_STOPPED",
          endTime: now,
          ...(!r.failure && value !== undefined ? { value, metrics } : {}),
        });
        continue;
      }
      if (!r.failure && value !== undefined) {
        await this.store.updateTrial(name, r.number, { status: "COMPLETED", value, metrics, endTime: now });
        continue;
      }
      const error = r.failure
        ? `${r.failure.Error ?? "Error"}: ${r.failure.Cause ?? ""}`.trim()
        : `trial returned no "${spec.objective.metric}" metric`;
      const retry = r.attempt <= spec.maxRetries;
      await this.store.updateTrial(name, r.number, {
        status: retry ? "PENDING" : "FAILED",
        error,
        endTime: now,
      });
    }
  }

  async finish(name: string): Promise<{ status: string; best: unknown }> {
    const exp = await this.experiment(name);
    const trials = await this.store.trials(name);
    const best = bestOf(trials, lossSign(exp.spec));
    const status = exp.stopRequested ? "STOPPED" : "SUCCEEDED";
    await this.store.update(name, {
      status,
      endTime: this.clock.now(),
      updatedAt: this.clock.now(),
      ...(best ? { best } : {}),
    });
    return { status, best: best ?? null };
  }
}
