import type { Clock, Logger } from "@keel/core";
import { algorithmFor, stoppingRuleFor } from "./algorithms";
import type { Observation, SearchAlgorithm } from "./algorithms/port";
import type { TuningSpec } from "./definition";
import {
  bestOf,
  lossSign,
  observationsOf,
  progressOf,
  progressPath,
  stoppingMetric,
} from "./experiment-state";
import type { StoppingRule, TrialProgress } from "./stopping/port";
import type { BestTrial, ExperimentRecord, TrialRecord, TuningStore } from "./store";
import { summarize, type TuningSummary } from "./summary";
import { SUMMARY_ARTIFACT, TUNING_TAGS, type TuningTracking } from "./tracking";
import type { TrialReporter, TrialRunner } from "./trial-runner";

/** Registers the best trial's model and requests its promotion (wired to the registry by the platform). */
export interface ModelRegistrar {
  register(
    model: string,
    source: string,
    runId: string | undefined,
    description: string,
  ): Promise<{ version: string }>;
  requestPromotion(
    model: string,
    version: string,
    stage: string,
    comment: string,
  ): Promise<{ id: string; status: string }>;
}

export interface ControllerDeps {
  store: TuningStore;
  clock: Clock;
  log: Logger;
  tracking?: TuningTracking;
  registrar?: ModelRegistrar;
  /** How often the controller looks for a stop request in the store (default 250 ms). */
  pollMs?: number;
}

export interface RunOptions {
  runner: TrialRunner;
  /** Continue an existing experiment from its recorded trials (else the name must be new). */
  resume?: boolean;
  /** Called whenever a trial changes (the CLI's live table). */
  onChange?: (exp: ExperimentRecord, trials: TrialRecord[]) => void;
  /** Ends the loop at once without writing anything more, as a crash would (tests, shutdown). */
  halt?: AbortSignal;
  /** Called once the experiment is created or reopened, before any trial runs. */
  onStart?: (exp: ExperimentRecord) => void;
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
}

const FINISHED = new Set(["COMPLETED", "EARLY_STOPPED", "FAILED"]);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The tuning controller (Katib's experiment + suggestion controllers in one loop): asks the
 * algorithm for suggestions as slots free up, records each one in the MetadataStore before it
 * runs, runs up to `parallelTrials` trials at once, applies the early-stopping rule to every
 * intermediate report, retries failed trials, and at the end records the summary in tracking
 * and registers the best model. Everything it decides from is in the store, so `resume` after a
 * crash or a stop continues where the recorded history ends.
 */
export class TuningController {
  private readonly locals = new Map<string, AbortController>();
  private readonly loops = new Map<string, ExperimentLoop>();

  constructor(private readonly deps: ControllerDeps) {}

  /** Stops a running experiment: its running trials end as STOPPED (resume reruns them). */
  async stop(name: string): Promise<ExperimentRecord> {
    const exp = await this.deps.store.get(name);
    if (exp.status !== "RUNNING") return exp;
    this.locals.get(name)?.abort();
    return this.deps.store.update(name, { stopRequested: true, updatedAt: this.deps.clock.now() });
  }

  isRunningHere(name: string): boolean {
    return this.locals.has(name);
  }

  /**
   * A trial running here reports rounds from outside (a pipeline trial's trainer through the
   * progress endpoint): the rule decides as for in-process reports. Undefined when this process
   * does not run that trial attempt.
   */
  report(
    name: string,
    trial: number,
    attempt: number,
    rounds: Array<{ step: number; metrics: Record<string, number> }>,
  ): { stop: boolean } | undefined {
    return this.loops.get(name)?.report(trial, attempt, rounds);
  }

  async run(spec: TuningSpec, opts: RunOptions): Promise<ExperimentRecord> {
    const name = spec.name;
    const local = new AbortController();
    if (this.locals.has(name)) throw new Error(`tuning "${name}" is already running in this process`);
    this.locals.set(name, local);
    try {
      const state = await this.prepare(spec, opts.resume ?? false);
      opts.onStart?.(state.exp);
      const loop = new ExperimentLoop(this.deps, spec, state.exp, state.trials, opts, local.signal);
      this.loops.set(name, loop);
      return await loop.run();
    } finally {
      this.locals.delete(name);
      this.loops.delete(name);
      await opts.runner.close?.().catch(() => undefined);
    }
  }

  /** Creates the experiment, or reopens it for resume (interrupted and stopped trials are queued again). */
  private async prepare(spec: TuningSpec, resume: boolean) {
    const { store, clock, tracking } = this.deps;
    const now = clock.now();
    const existing = await store.find(spec.name);
    if (!existing || !resume) {
      let trackingExperimentId: string | undefined;
      let trackingRunId: string | undefined;
      if (tracking) {
        trackingExperimentId = await tracking.experimentId(spec.experiment);
        trackingRunId = await tracking.createRun(trackingExperimentId, spec.name, {
          [TUNING_TAGS.tuning]: spec.name,
          [TUNING_TAGS.status]: "RUNNING",
        });
      }
      const exp: ExperimentRecord = {
        name: spec.name,
        status: "RUNNING",
        spec,
        createdAt: now,
        updatedAt: now,
        ...(trackingRunId ? { trackingRunId, trackingExperimentId } : {}),
      };
      await store.create(exp);
      if (tracking && trackingRunId)
        await tracking.record(trackingRunId, {
          params: {
            algorithm: spec.algorithm.name,
            max_trials: spec.maxTrials,
            parallel_trials: spec.parallelTrials,
            objective: `${spec.objective.goal} ${spec.objective.metric}`,
            early_stopping: spec.earlyStopping?.rule ?? "none",
            seed: spec.seed,
          },
        });
      return { exp, trials: [] as TrialRecord[] };
    }
    const trials = await store.trials(spec.name);
    // Trials a dead controller left RUNNING: their tracking runs end KILLED, and they run again.
    for (const t of trials.filter((x) => x.status === "RUNNING")) {
      if (t.trackingRunId && tracking) {
        await tracking.record(t.trackingRunId, { tags: { [TUNING_TAGS.status]: "INTERRUPTED" } });
        await tracking.end(t.trackingRunId, "KILLED");
      }
    }
    const exp = await store.update(
      spec.name,
      {
        status: "RUNNING",
        updatedAt: now,
        spec: { ...existing.spec, maxTrials: Math.max(existing.spec.maxTrials, spec.maxTrials) },
      },
      ["stopRequested", "endTime"],
    );
    if (exp.trackingRunId && tracking)
      await tracking.record(exp.trackingRunId, { tags: { [TUNING_TAGS.status]: "RUNNING" } });
    return { exp, trials };
  }
}

/** One controller's pass over an experiment. */
class ExperimentLoop {
  private readonly trials = new Map<number, TrialRecord>();
  private readonly running = new Map<number, Running>();
  private readonly queue: number[] = [];
  private readonly reporters = new Map<number, { attempt: number; reporter: TrialReporter }>();
  private readonly algorithm: SearchAlgorithm;
  private readonly rule?: StoppingRule;
  private readonly esMetric: string;
  private readonly esSign: number;
  private readonly sign: number;
  private next = 0;
  private exhausted = false;

  constructor(
    private readonly deps: ControllerDeps,
    private readonly spec: TuningSpec,
    private exp: ExperimentRecord,
    trials: TrialRecord[],
    private readonly opts: RunOptions,
    private readonly local: AbortSignal,
  ) {
    this.algorithm = algorithmFor(spec);
    this.rule = stoppingRuleFor(spec);
    this.sign = lossSign(spec);
    const es = stoppingMetric(spec);
    this.esMetric = es.metric;
    this.esSign = es.sign;
    for (const t of trials) {
      this.trials.set(t.number, t);
      this.next = Math.max(this.next, t.number + 1);
      if (!FINISHED.has(t.status)) this.queue.push(t.number);
    }
    this.queue.sort((a, b) => a - b);
  }

  private get name() {
    return this.spec.name;
  }
  private get halted() {
    return this.opts.halt?.aborted ?? false;
  }

  async run(): Promise<ExperimentRecord> {
    const maxTrials = this.exp.spec.maxTrials;
    const parallel = this.spec.parallelTrials;
    for (;;) {
      if (this.halted) return this.exp;
      if (await this.stopRequested()) return this.finishStopped();
      while (this.running.size < parallel && !this.halted) {
        const n = this.queue.shift();
        if (n !== undefined) {
          this.start(n);
          continue;
        }
        if (this.exhausted || this.next >= maxTrials) break;
        await this.suggest(Math.min(parallel - this.running.size, maxTrials - this.next));
        if (!this.queue.length) break;
      }
      if (this.running.size === 0) break;
      await Promise.race([...[...this.running.values()].map((r) => r.done), sleep(this.deps.pollMs ?? 250)]);
    }
    if (this.halted) return this.exp;
    return this.finish("SUCCEEDED");
  }

  private async stopRequested(): Promise<boolean> {
    if (this.local.aborted) return true;
    return (await this.deps.store.find(this.name))?.stopRequested === true;
  }

  private async suggest(count: number): Promise<void> {
    const numbers = Array.from({ length: count }, (_, i) => this.next + i);
    const suggestions = this.algorithm.suggest({
      space: this.spec.parameters,
      history: this.observations(),
      numbers,
      seed: this.spec.seed,
    });
    if (suggestions.length < count) this.exhausted = true;
    for (const [i, params] of suggestions.entries()) {
      const t: TrialRecord = { number: numbers[i], params, status: "PENDING", attempts: 0, curve: [] };
      if (await this.deps.store.addTrial(this.name, t)) {
        this.trials.set(t.number, t);
        this.queue.push(t.number);
      }
    }
    this.next += count;
  }

  observations(): Observation[] {
    return observationsOf(this.trials.values(), this.sign);
  }

  private progress(t: TrialRecord): TrialProgress {
    return progressOf(t, this.esSign);
  }

  report(
    trial: number,
    attempt: number,
    rounds: Array<{ step: number; metrics: Record<string, number> }>,
  ): { stop: boolean } | undefined {
    const r = this.reporters.get(trial);
    if (!r || r.attempt !== attempt) return undefined;
    let stop = r.reporter.signal.aborted;
    for (const { step, metrics } of rounds) stop = r.reporter.report(step, metrics) || stop;
    return { stop };
  }

  private start(n: number): void {
    const abort = new AbortController();
    const entry: Running = { abort, done: Promise.resolve() };
    this.running.set(n, entry);
    entry.done = this.execute(n, abort)
      .catch((e) =>
        this.deps.log.error("tuning trial bookkeeping failed", { trial: n, err: (e as Error).message }),
      )
      .finally(() => {
        this.running.delete(n);
      });
  }

  private changed(): void {
    this.opts.onChange?.(
      this.exp,
      [...this.trials.values()].sort((a, b) => a.number - b.number),
    );
  }

  private async execute(n: number, abort: AbortController): Promise<void> {
    const { store, clock, tracking } = this.deps;
    const prev = this.trials.get(n)!;
    const attempt = prev.attempts + 1;
    let trackingRunId: string | undefined;
    if (tracking && this.exp.trackingRunId && this.exp.trackingExperimentId) {
      trackingRunId = await tracking
        .createRun(this.exp.trackingExperimentId, `trial-${n}${attempt > 1 ? `-attempt-${attempt}` : ""}`, {
          [TUNING_TAGS.parent]: this.exp.trackingRunId,
          [TUNING_TAGS.tuning]: this.name,
          [TUNING_TAGS.trial]: String(n),
          [TUNING_TAGS.status]: "RUNNING",
        })
        .catch(() => undefined);
      if (trackingRunId) await tracking.record(trackingRunId, { params: prev.params });
    }
    let t = await store.updateTrial(
      this.name,
      n,
      { status: "RUNNING", attempts: attempt, startTime: clock.now(), curve: [], trackingRunId },
      ["endTime", "error", "stoppedAt", "value", "metrics"],
    );
    this.trials.set(n, t);
    this.changed();

    let early: number | undefined;
    let prevStep = 0;
    let persist = Promise.resolve();
    const reported: Array<[string, number, number]> = [];
    const reporter: TrialReporter = {
      number: n,
      attempt,
      signal: abort.signal,
      report: (step, metrics) => {
        for (const [k, v] of Object.entries(metrics)) if (Number.isFinite(v)) reported.push([k, v, step]);
        const v = metrics[this.esMetric];
        if (v === undefined || !Number.isFinite(v) || early !== undefined) return early !== undefined;
        const cur = this.trials.get(n)!;
        cur.curve.push([step, v]);
        const point: [number, number] = [step, v];
        persist = persist.then(() => store.appendCurve(this.name, n, [point])).catch(() => undefined);
        const others = [...this.trials.values()].filter((o) => o.number !== n).map((o) => this.progress(o));
        const stop = this.rule?.shouldStop(this.progress(cur), prevStep, others) ?? false;
        prevStep = step;
        if (stop) {
          early = step;
          abort.abort();
        }
        return stop;
      },
    };
    const budget = this.spec.earlyStopping?.rule === "asha" ? this.spec.earlyStopping : undefined;
    const params = {
      ...t.params,
      ...(budget?.budgetParam ? { [budget.budgetParam]: budget.maxBudget } : {}),
    };
    const localStop = () => abort.abort();
    this.local.addEventListener("abort", localStop);
    this.reporters.set(n, { attempt, reporter });
    let outcome: Partial<TrialRecord>;
    let retry = false;
    try {
      const result = await this.opts.runner.run({
        ...reporter,
        tuning: this.name,
        params,
        ...(this.rule ? { progressPath: progressPath(this.name, n, attempt) } : {}),
        ...(trackingRunId && tracking ? { trackingRunId, logger: tracking.logger(trackingRunId) } : {}),
      });
      if (early !== undefined) outcome = this.earlyOutcome(early, result.metrics);
      else if (abort.signal.aborted) outcome = { status: "STOPPED" };
      else {
        const value = result.metrics[this.spec.objective.metric];
        if (typeof value !== "number" || !Number.isFinite(value))
          throw new Error(
            `trial returned no "${this.spec.objective.metric}" metric (got: ${Object.keys(result.metrics).join(", ") || "none"})`,
          );
        outcome = {
          status: "COMPLETED",
          value,
          metrics: result.metrics,
          ...(result.modelUri ? { modelUri: result.modelUri } : {}),
        };
      }
    } catch (e) {
      if (early !== undefined) outcome = this.earlyOutcome(early, {});
      else if (abort.signal.aborted) outcome = { status: "STOPPED" };
      else {
        retry = attempt <= this.spec.maxRetries;
        outcome = { status: retry ? "PENDING" : "FAILED", error: (e as Error).message ?? String(e) };
      }
    } finally {
      this.local.removeEventListener("abort", localStop);
      this.reporters.delete(n);
    }
    await persist;
    if (this.halted) return;
    t = await store.updateTrial(this.name, n, { ...outcome, endTime: clock.now() });
    this.trials.set(n, t);
    if (retry) this.queue.unshift(n);
    if (tracking && trackingRunId) {
      const final = Object.entries(t.metrics ?? {}).map(
        ([k, v]) => [k, v, t.curve.at(-1)?.[0] ?? 0] as [string, number, number],
      );
      await tracking.record(trackingRunId, {
        metrics: [
          ...(this.opts.runner.logsMetrics ? [] : reported),
          ...(this.opts.runner.logsMetrics ? [] : final),
        ],
        tags: {
          [TUNING_TAGS.status]: retry ? "FAILED_RETRYING" : t.status,
          ...(t.stoppedAt !== undefined ? { "keel.tuning.stopped_at_step": String(t.stoppedAt) } : {}),
          ...(t.error ? { "keel.tuning.error": t.error.slice(0, 500) } : {}),
        },
      });
      await tracking.end(
        trackingRunId,
        t.status === "COMPLETED"
          ? "FINISHED"
          : t.status === "EARLY_STOPPED" || t.status === "STOPPED"
            ? "KILLED"
            : "FAILED",
      );
    }
    this.changed();
  }

  private earlyOutcome(step: number, metrics: Record<string, number>): Partial<TrialRecord> {
    const objective = this.spec.objective.metric;
    const value = metrics[objective];
    return {
      status: "EARLY_STOPPED",
      stoppedAt: step,
      ...(typeof value === "number" && Number.isFinite(value) ? { value } : {}),
    };
  }

  private best(): BestTrial | undefined {
    return bestOf(this.trials.values(), this.sign);
  }

  private async finishStopped(): Promise<ExperimentRecord> {
    for (const r of this.running.values()) r.abort.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
    return this.finish("STOPPED");
  }

  private async finish(status: "SUCCEEDED" | "STOPPED"): Promise<ExperimentRecord> {
    const { store, clock, tracking } = this.deps;
    const best = this.best();
    const trials = [...this.trials.values()].sort((a, b) => a.number - b.number);
    // The model, tags and summary are recorded before the experiment reads as finished, so a
    // reader that sees SUCCEEDED also sees them.
    if (status === "SUCCEEDED") await this.register(best);
    const summary = summarize({ ...this.exp, status, ...(best ? { best } : {}) }, trials);
    if (tracking && this.exp.trackingRunId)
      await this.recordSummary(tracking, this.exp.trackingRunId, summary);
    this.exp = await store.update(this.name, {
      status,
      endTime: clock.now(),
      updatedAt: clock.now(),
      ...(best ? { best } : {}),
    });
    this.changed();
    return this.exp;
  }

  private async recordSummary(
    tracking: TuningTracking,
    runId: string,
    summary: TuningSummary,
  ): Promise<void> {
    const tags: Record<string, string> = { [TUNING_TAGS.status]: summary.status };
    if (summary.best) {
      tags[TUNING_TAGS.bestValue] = String(summary.best.value);
      tags[TUNING_TAGS.bestTrial] = String(summary.best.number);
      tags[TUNING_TAGS.bestParams] = JSON.stringify(summary.best.params).slice(0, 5000);
      if (summary.best.trackingRunId) tags[TUNING_TAGS.bestRun] = summary.best.trackingRunId;
    }
    for (const [s, c] of Object.entries(summary.trialsByStatus))
      tags[`${TUNING_TAGS.trialsPrefix}${s.toLowerCase()}`] = String(c);
    await tracking.record(runId, {
      tags,
      metrics: summary.best
        ? [[`best_${this.spec.objective.metric}`, summary.best.value, summary.trials]]
        : [],
    });
    try {
      await tracking.logArtifact(
        runId,
        SUMMARY_ARTIFACT,
        new TextEncoder().encode(`${JSON.stringify(summary, null, 2)}\n`),
      );
    } catch (e) {
      this.deps.log.warn("tuning summary artifact failed", { err: (e as Error).message });
    }
    await tracking.end(runId, summary.status === "SUCCEEDED" ? "FINISHED" : "KILLED");
  }

  /** The final step: the best trial's model as a new version, and its promotion requested. */
  private async register(best: BestTrial | undefined): Promise<void> {
    const target = this.spec.register;
    const { registrar, store, log } = this.deps;
    if (!target || !registrar || this.exp.registered) return;
    if (!best?.modelUri) {
      log.warn("tuning: no trial produced a model to register", { tuning: this.name });
      return;
    }
    try {
      const desc = `best of tuning ${this.name}: trial ${best.number}, ${this.spec.objective.metric} ${best.value}`;
      const { version } = await registrar.register(target.model, best.modelUri, best.trackingRunId, desc);
      let registered: ExperimentRecord["registered"] = { model: target.model, version };
      if (target.promoteTo) {
        const p = await registrar.requestPromotion(target.model, version, target.promoteTo, desc);
        registered = { ...registered, promotionId: p.id, promotionStatus: p.status };
      }
      this.exp = await store.update(this.name, { registered });
    } catch (e) {
      this.exp = await store.update(this.name, {
        error: `registering the best model failed: ${(e as Error).message}`,
      });
    }
  }
}
