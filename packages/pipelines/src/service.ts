import { existsSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import { type Clock, canonicalJson, currentPrincipal, type Logger, newId } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { AslBindings, BuiltinStepRegistry } from "./builtin-steps";
import { type CompiledPipeline, compilePipeline } from "./compiler";
import { isPipelineDefinition, type Json, type JsonObject, type PipelineDefinition } from "./definition";
import { badDefinition, noSuch, PipelineError } from "./errors";
import type { ExecutionInput } from "./execution-input";
import { type PipelineExecutor, TERMINAL } from "./executor-port";
import { importPipelineFile } from "./load-file";
import { LocalPipelineExecutor } from "./local-executor";
import {
  captureRunRecord,
  compareRuns,
  type ReproductionReport,
  readRunRecord,
  storeRunRecord,
} from "./reproducibility";
import { RunRecorder } from "./run-recorder";
import { type PipelineRun, RunStore, type StepRecord, type Trigger } from "./run-store";
import { StepCache } from "./step-cache";
import { StepRuntime } from "./step-runtime";
import { type PipelineTracking, TrackingLink } from "./tracking-link";

export interface PipelineServiceDeps {
  store: MetadataStore;
  artifacts: ArtifactStore;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  tracking?: PipelineTracking;
  builtins?: BuiltinStepRegistry;
  /** Defaults to the in-process runner. */
  executor?: PipelineExecutor;
  bindings?: Partial<AslBindings>;
  /** Milliseconds between retries in the in-process runner instead of the ASL backoff (tests). */
  retryIntervalMs?: number;
}

export interface StartRunOptions {
  /** Caller-chosen id (1-80 of A-Z a-z 0-9 _ -) making the start idempotent; default a new id. */
  runId?: string;
  params?: Record<string, unknown>;
  noCache?: boolean;
  trigger?: Trigger;
  resumedFrom?: string;
  reproducedFrom?: string;
  reuse?: Record<string, Json>;
}

interface Registered {
  def: PipelineDefinition;
  compiled: CompiledPipeline;
  runtime: StepRuntime;
  file?: string;
}

/** Maximum bytes of a run's parameters (they travel in the state machine's 256 KB state). */
const MAX_PARAMS_BYTES = 32_768;
const REUSABLE: ReadonlySet<StepRecord["status"]> = new Set(["SUCCEEDED", "CACHED", "REUSED"]);

/**
 * Pipelines: registration (compiled once), runs (start, resume, stop, backfill), and their
 * recorded history. Every trigger appends an audit event. Runs are executed by the
 * configured PipelineExecutor and recorded from its history by one watcher per run.
 */
export class PipelineService {
  readonly runs: RunStore;
  readonly executor: PipelineExecutor;
  private readonly pipelines = new Map<string, Registered>();
  private readonly cache: StepCache;
  private readonly recorder: RunRecorder;
  private readonly tracking?: TrackingLink;
  private readonly watchers = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly deps: PipelineServiceDeps) {
    this.runs = new RunStore(deps.store, deps.clock);
    this.cache = new StepCache(deps.store, deps.clock);
    const link = deps.tracking ? new TrackingLink(deps.tracking, deps.log) : undefined;
    this.recorder = new RunRecorder(this.runs, deps.audit, deps.clock, link);
    this.tracking = link;
    this.executor =
      deps.executor ??
      new LocalPipelineExecutor({
        clock: deps.clock,
        retryIntervalMs: deps.retryIntervalMs,
        resolve: (name) => {
          const p = this.pipelines.get(name);
          return (
            p && {
              definition: p.compiled.definition,
              invokeTask: (state, input) => p.runtime.invoke(state, input),
            }
          );
        },
      });
  }

  /** Compiles and registers a pipeline (replacing one of the same name); throws on an invalid graph. */
  async register(def: PipelineDefinition, opts: { file?: string } = {}): Promise<CompiledPipeline> {
    const compiled = compilePipeline(def, { bindings: this.deps.bindings, builtins: this.deps.builtins });
    const runtime = new StepRuntime({
      def,
      compiled,
      artifacts: this.deps.artifacts,
      builtins: this.deps.builtins,
      cache: this.cache,
      runs: this.runs,
    });
    this.pipelines.set(def.name, { def, compiled, runtime, file: opts.file });
    if (opts.file) {
      await this.deps.store.put({
        pk: `pipeline#${def.name}`,
        sk: "registration",
        file: opts.file,
        version: def.version,
        registeredAt: this.deps.clock.now(),
        gsi1pk: "pipelines",
        gsi1sk: def.name,
      });
      await this.deps.audit.append({
        action: "pipeline.register",
        resource: `pipeline:${def.name}`,
        state: { file: opts.file, version: def.version },
      });
    }
    return compiled;
  }

  /** Imports a TypeScript/JavaScript module and registers every pipeline it exports. */
  async registerFile(file: string): Promise<string[]> {
    const path = resolvePath(file);
    if (!existsSync(path)) throw badDefinition(`pipeline file ${path} does not exist`);
    const mod = await importPipelineFile(path, this.deps.clock.now());
    const defs = pipelinesIn(mod);
    if (!defs.length) throw badDefinition(`${path} exports no pipeline (use definePipeline and export it)`);
    for (const d of defs) await this.register(d, { file: path });
    return defs.map((d) => d.name);
  }

  /** Re-registers the pipeline files registered earlier (after a restart of `keel dev`). */
  async reloadRegisteredFiles(): Promise<void> {
    const items = await this.deps.store.queryAll({ pk: "pipelines", index: "gsi1" });
    const files = [...new Set(items.map((i) => i.file as string))].sort();
    for (const f of files) {
      if (!existsSync(f)) {
        this.deps.log.warn("registered pipeline file is gone; skipping it", { file: f });
        continue;
      }
      await this.registerFile(f).catch((e: Error) =>
        this.deps.log.warn("cannot load pipeline file", { file: f, err: e.message }),
      );
    }
  }

  get(name: string): Registered {
    const p = this.pipelines.get(name);
    if (!p) throw noSuch(`pipeline "${name}" is not registered`);
    return p;
  }

  list(): Registered[] {
    return [...this.pipelines.values()].sort((a, b) => a.def.name.localeCompare(b.def.name));
  }

  /** Starts a run: validates params, records the run and its tracking run, starts the execution. */
  async startRun(name: string, opts: StartRunOptions = {}): Promise<PipelineRun> {
    const { def, file } = this.get(name);
    const raw = opts.params ?? {};
    const size = Buffer.byteLength(JSON.stringify(raw));
    if (size > MAX_PARAMS_BYTES) {
      throw new PipelineError(
        "INVALID_PARAMETER_VALUE",
        `params are ${size} bytes (limit ${MAX_PARAMS_BYTES}): pass large data by artifact URI`,
      );
    }
    const params = parseParams(def, raw, "params") as JsonObject;
    const runId = opts.runId ?? newId();
    const now = this.deps.clock.now();
    const run: PipelineRun = {
      runId,
      pipeline: name,
      status: "RUNNING",
      params,
      noCache: opts.noCache ?? false,
      trigger: opts.trigger ?? "api",
      principal: currentPrincipal(),
      startTime: now,
      ...(opts.resumedFrom ? { resumedFrom: opts.resumedFrom } : {}),
      ...(opts.reproducedFrom ? { reproducedFrom: opts.reproducedFrom } : {}),
    };
    if (!(await this.runs.createRun(run))) return this.existingRun(run);
    const repro = await this.recordReproducibility(run, def, file);
    // Mirrored only once the run is ours, so a repeated request leaves no stray tracking run.
    const mirror = await this.tracking?.startPipelineRun(name, runId, params, now);
    if (mirror) {
      Object.assign(run, { trackingRunId: mirror.trackingRunId, trackingExperimentId: mirror.experimentId });
      await this.runs.setRun(runId, {
        trackingRunId: mirror.trackingRunId,
        trackingExperimentId: mirror.experimentId,
      });
      if (repro) await this.tracking?.tagRun(mirror.trackingRunId, repro.tags);
    }
    await this.deps.audit.append({
      action: "pipeline.run.start",
      resource: `pipeline:${name}/run:${runId}`,
      state: { params, trigger: run.trigger, noCache: run.noCache, resumedFrom: opts.resumedFrom },
    });
    const input: ExecutionInput = {
      runId,
      params,
      noCache: run.noCache,
      reuse: (opts.reuse ?? {}) as ExecutionInput["reuse"],
    };
    try {
      const { executionId } = await this.executor.start({
        pipeline: name,
        name: runId,
        input: input as Json,
      });
      run.executionId = executionId;
      await this.runs.setRun(runId, { executionId });
    } catch (e) {
      await this.runs.finishRun(runId, {
        status: "FAILED",
        endTime: this.deps.clock.now(),
        error: "Keel.StartFailed",
        cause: (e as Error).message,
      });
      throw e;
    }
    this.watch(run);
    return run;
  }

  /**
   * Records what made the run (git commit and dirty flag, lockfile hash, image digests, input
   * dataset hashes, params and seeds) as `reproducibility.json` beside the run's artifacts.
   * A failure to record is logged, never fails the run.
   */
  private async recordReproducibility(run: PipelineRun, def: PipelineDefinition, file?: string) {
    try {
      const record = await captureRunRecord(def, run.params, file, run.startTime);
      const stored = await storeRunRecord(this.deps.artifacts, run, record);
      run.reproducibilityUri = stored.uri;
      await this.runs.setRun(run.runId, { reproducibilityUri: stored.uri });
      return stored;
    } catch (e) {
      this.deps.log.warn("cannot record the run's reproducibility record", {
        runId: run.runId,
        err: (e as Error).message,
      });
      return undefined;
    }
  }

  /**
   * Re-runs a finished run with its recorded params and no step cache (`keel pipeline
   * reproduce`); `reproduction` compares the two once the new run has finished.
   */
  async reproduce(runId: string): Promise<PipelineRun> {
    const run = await this.runs.getRun(runId);
    if (run.status === "RUNNING")
      throw new PipelineError("INVALID_STATE", `run ${runId} is still RUNNING; reproduce a finished run`);
    return this.startRun(run.pipeline, {
      params: run.params,
      noCache: true,
      trigger: "reproduce",
      reproducedFrom: runId,
    });
  }

  /** Compares a reproduction (a run started by `reproduce`) with the run it reproduced. */
  async reproduction(runId: string, opts: { tolerance?: number } = {}): Promise<ReproductionReport> {
    const b = await this.getRun(runId);
    if (!b.run.reproducedFrom)
      throw new PipelineError("INVALID_PARAMETER_VALUE", `run ${runId} is not a reproduction of another run`);
    if (b.run.status === "RUNNING")
      throw new PipelineError("INVALID_STATE", `reproduction ${runId} is still RUNNING`);
    const a = await this.getRun(b.run.reproducedFrom);
    const { artifacts } = this.deps;
    return compareRuns(
      artifacts,
      { ...a, record: await readRunRecord(artifacts, a.run) },
      { ...b, record: await readRunRecord(artifacts, b.run) },
      {
        tolerance: opts.tolerance ?? 1e-9,
        deterministic: (step) =>
          this.get(a.run.pipeline).def.steps.some((s) => s.name === step && s.kind !== "gate" && s.cache),
      },
    );
  }

  /**
   * A second start with a caller-chosen run id is the same request again when pipeline and
   * params match (the existing run is returned), and a conflict otherwise.
   */
  private async existingRun(wanted: PipelineRun): Promise<PipelineRun> {
    const run = await this.runs.getRun(wanted.runId);
    if (run.pipeline !== wanted.pipeline || canonicalJson(run.params) !== canonicalJson(wanted.params)) {
      throw new PipelineError(
        "RESOURCE_ALREADY_EXISTS",
        `run ${wanted.runId} already exists with another pipeline or params`,
      );
    }
    return run;
  }

  /** Re-runs a failed run from where it failed: steps that succeeded are reused, the rest run. */
  async resume(runId: string): Promise<PipelineRun> {
    const { run, steps } = await this.runs.getRunWithSteps(runId);
    if (run.status === "RUNNING" || run.status === "SUCCEEDED") {
      throw new PipelineError(
        "INVALID_STATE",
        `run ${runId} is ${run.status}; only failed, aborted or timed-out runs can be resumed`,
      );
    }
    const { def } = this.get(run.pipeline);
    const reuse: Record<string, Json> = {};
    for (const s of steps) {
      const kind = def.steps.find((x) => x.name === s.step)?.kind;
      if (
        s.index === undefined &&
        kind &&
        kind !== "gate" &&
        REUSABLE.has(s.status) &&
        s.output !== undefined
      )
        reuse[s.step] = s.output;
    }
    return this.startRun(run.pipeline, {
      params: run.params,
      noCache: run.noCache,
      trigger: "resume",
      resumedFrom: runId,
      reuse,
    });
  }

  async stop(runId: string): Promise<PipelineRun> {
    const run = await this.runs.getRun(runId);
    if (run.executionId && run.status === "RUNNING") {
      const cause = `stopped by ${currentPrincipal()}`;
      try {
        await this.executor.stop(run.executionId, { error: "Keel.Stopped", cause });
      } catch (e) {
        if ((e as { code?: string }).code !== "RESOURCE_DOES_NOT_EXIST") throw e;
        // The in-process execution died with an earlier process: nothing will finish this run.
        await this.runs.finishRun(runId, {
          status: "ABORTED",
          endTime: this.deps.clock.now(),
          error: "Keel.Stopped",
          cause: `${cause}; its execution no longer exists`,
        });
      }
      await this.deps.audit.append({
        action: "pipeline.run.stop",
        resource: `pipeline:${run.pipeline}/run:${runId}`,
      });
    }
    await this.watchers.get(runId);
    return this.runs.getRun(runId);
  }

  /**
   * A run with its steps. A remote execution nobody here watches (started by another API
   * instance, or from the console) is first caught up from its history, from the last event
   * applied (`historySeq`); two readers catching up at once may both apply a batch.
   */
  async getRun(runId: string): Promise<{ run: PipelineRun; steps: StepRecord[] }> {
    const found = await this.runs.getRunWithSteps(runId);
    // In-process executions are always watched by the process that started them.
    const unwatched = this.executor.kind !== "local" && !this.watchers.has(runId);
    if (
      found.run.status === "RUNNING" &&
      found.run.executionId &&
      unwatched &&
      this.pipelines.has(found.run.pipeline)
    ) {
      await this.catchUp(found.run);
      return this.runs.getRunWithSteps(runId);
    }
    return found;
  }

  /** Resolves when the run has finished and everything about it is recorded. */
  async waitForRun(runId: string): Promise<PipelineRun> {
    for (;;) {
      const watcher = this.watchers.get(runId);
      if (watcher) await watcher;
      // Catches up runs this process does not watch (started elsewhere, or not yet watched).
      const { run } = await this.getRun(runId);
      if (run.status !== "RUNNING" || this.closed) return run;
      if (!watcher) await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * One run per day from `from` to `to` (inclusive, YYYY-MM-DD) with the date as param `ds`,
   * at most `concurrency` at a time. The range and the params are checked before anything
   * starts; `completion` resolves with the finished runs in date order.
   */
  backfill(
    name: string,
    opts: {
      from: string;
      to: string;
      params?: Record<string, unknown>;
      concurrency?: number;
      noCache?: boolean;
    },
    onRun?: (run: PipelineRun) => void,
  ): { intervals: string[]; completion: Promise<PipelineRun[]> } {
    const { def } = this.get(name);
    const intervals = dateRange(opts.from, opts.to);
    for (const ds of [intervals[0], intervals[intervals.length - 1]])
      parseParams(def, { ...opts.params, ds }, "backfill params");
    const queue = [...intervals];
    const done: PipelineRun[] = [];
    const worker = async () => {
      for (let ds = queue.shift(); ds !== undefined; ds = queue.shift()) {
        const run = await this.startRun(name, {
          params: { ...opts.params, ds },
          noCache: opts.noCache,
          trigger: "backfill",
        });
        onRun?.(run);
        done.push(await this.waitForRun(run.runId));
      }
    };
    const workers = Array.from({ length: Math.min(opts.concurrency ?? 2, intervals.length) }, worker);
    const completion = Promise.all(workers).then(() =>
      done.sort((a, b) => String(a.params.ds).localeCompare(String(b.params.ds))),
    );
    return { intervals, completion };
  }

  private watch(run: PipelineRun): void {
    const w = this.catchUp(run, true).finally(() => this.watchers.delete(run.runId));
    this.watchers.set(run.runId, w);
  }

  /** Applies history events to the run's records; with `follow`, until the execution ends. */
  private async catchUp(run: PipelineRun, follow = false): Promise<void> {
    const { compiled } = this.get(run.pipeline);
    let after = follow ? 0 : (run.historySeq ?? 0);
    for (;;) {
      if (this.closed) return;
      let events: Awaited<ReturnType<PipelineExecutor["history"]>>;
      try {
        events = await this.executor.history(run.executionId!, { after, waitMs: follow ? 1000 : 0 });
      } catch (e) {
        this.deps.log.warn("cannot read pipeline execution history", {
          runId: run.runId,
          err: (e as Error).message,
        });
        if (!follow) return;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      for (const ev of events) {
        after = ev.seq;
        if (await this.recorder.apply(run, compiled, ev)) return;
      }
      if (!follow && events.length) await this.runs.setRun(run.runId, { historySeq: after });
      if (!follow) {
        const d = await this.executor.describe(run.executionId!);
        if (!TERMINAL.has(d.status) || events.length === 0) return;
      }
    }
  }

  /** Stops following runs (their executions keep their state in the executor). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.watchers.values()]);
  }
}

function parseParams(def: PipelineDefinition, raw: unknown, what: string): unknown {
  const r = def.params.safeParse(raw);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `params.${i.path.join(".")}: ${i.message}`).join("; ");
  throw new PipelineError("INVALID_PARAMETER_VALUE", `invalid ${what} for pipeline "${def.name}": ${why}`);
}

/** Pipelines a module exports (default, named, or arrays of them). */
export function pipelinesIn(mod: Record<string, unknown>): PipelineDefinition[] {
  const found = new Map<string, PipelineDefinition>();
  for (const v of Object.values(mod)) {
    const list = Array.isArray(v) ? v : [v];
    for (const x of list) if (isPipelineDefinition(x)) found.set(x.name, x);
  }
  return [...found.values()];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Every date from `from` to `to` inclusive (YYYY-MM-DD, UTC); at most 1000. */
export function dateRange(from: string, to: string): string[] {
  if (!DAY.test(from) || Number.isNaN(Date.parse(`${from}T00:00:00Z`)))
    throw new PipelineError("INVALID_PARAMETER_VALUE", `from must be YYYY-MM-DD, got "${from}"`);
  if (!DAY.test(to) || Number.isNaN(Date.parse(`${to}T00:00:00Z`)))
    throw new PipelineError("INVALID_PARAMETER_VALUE", `to must be YYYY-MM-DD, got "${to}"`);
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (end < start) throw new PipelineError("INVALID_PARAMETER_VALUE", `to (${to}) is before from (${from})`);
  const n = (end - start) / 86_400_000 + 1;
  if (n > 1000)
    throw new PipelineError(
      "INVALID_PARAMETER_VALUE",
      `a backfill covers at most 1000 days, ${from}..${to} is ${n}`,
    );
  return Array.from({ length: n }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}
