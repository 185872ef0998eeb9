import { existsSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import type { ArtifactStore } from "@keel/artifacts";
import { type Clock, KeelError, type Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { importPipelineFile, type PipelineDefinition } from "@keel/pipelines";
import { compileTuning, type TuningAslBindings } from "./asl";
import { type ModelRegistrar, type RunOptions, TuningController } from "./controller";
import { type TuningDefinition, tuningsIn } from "./definition";
import { badTuning, noSuchTuning } from "./errors";
import { functionRunner } from "./runners/function-runner";
import { type PipelineRunsApi, pipelineRunner } from "./runners/pipeline-runner";
import { trainRunner } from "./runners/train-runner";
import { type ProgressRound, TuningStepController } from "./step-controller";
import { type ExperimentRecord, type TrialRecord, TuningStore } from "./store";
import { TuningTracking, type TuningTrackingApi } from "./tracking";
import type { TrialRunner } from "./trial-runner";

/** Pipeline runs plus what registering a tuning's trial pipeline needs. */
export interface TuningPipelinesApi extends PipelineRunsApi {
  get(name: string): unknown;
  register(def: PipelineDefinition): Promise<unknown>;
}

export interface TuningServiceDeps {
  store: MetadataStore;
  artifacts: ArtifactStore;
  clock: Clock;
  log: Logger;
  tracking?: TuningTrackingApi;
  pipelines?: TuningPipelinesApi;
  registrar?: ModelRegistrar;
  aslBindings?: Partial<TuningAslBindings>;
}

/**
 * Tuning as the platform offers it: definitions loaded from the project's files (never from a
 * path sent over HTTP), experiments run by the controller in this process (in AWS, by the
 * tuning state machine), their state read from the MetadataStore.
 */
export class TuningService {
  readonly store: TuningStore;
  readonly controller: TuningController;
  /** Stateless, store-backed: decides for trials no controller in this process runs (AWS). */
  private readonly steps: TuningStepController;
  private readonly defs = new Map<string, { def: TuningDefinition; file?: string }>();
  private readonly background = new Map<string, { halt: AbortController; done: Promise<unknown> }>();

  constructor(private readonly deps: TuningServiceDeps) {
    this.store = new TuningStore(deps.store);
    this.controller = new TuningController({
      store: this.store,
      clock: deps.clock,
      log: deps.log,
      ...(deps.tracking
        ? { tracking: new TuningTracking(deps.tracking, deps.artifacts, deps.log, () => deps.clock.now()) }
        : {}),
      ...(deps.registrar ? { registrar: deps.registrar } : {}),
    });
    this.steps = new TuningStepController(this.store, deps.clock, (n) => this.defs.get(n)?.def.spec);
  }

  register(def: TuningDefinition, file?: string): void {
    this.defs.set(def.spec.name, { def, ...(file ? { file } : {}) });
  }

  /** Imports a TypeScript/JavaScript module and registers every tuning definition it exports. */
  async registerFile(file: string): Promise<string[]> {
    const path = resolvePath(file);
    if (!existsSync(path)) throw badTuning(`tuning file ${path} does not exist`);
    const defs = tuningsIn(await importPipelineFile(path, this.deps.clock.now()));
    if (!defs.length)
      throw badTuning(`${path} exports no tuning definition (use defineTuning and export it)`);
    for (const d of defs) this.register(d, path);
    return defs.map((d) => d.spec.name);
  }

  definitions(): Array<{ def: TuningDefinition; file?: string }> {
    return [...this.defs.values()].sort((a, b) => a.def.spec.name.localeCompare(b.def.spec.name));
  }

  definition(name: string): TuningDefinition {
    const d = this.defs.get(name);
    if (!d) throw new KeelError("RESOURCE_DOES_NOT_EXIST", `tuning definition "${name}" is not loaded`);
    return d.def;
  }

  stateMachine(name: string) {
    const b = this.deps.aslBindings ?? {};
    return compileTuning(this.definition(name).spec, {
      controllerFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:keel-tuning-controller",
      trialFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:keel-tuning-trial",
      pipelineStateMachineArn: "arn:aws:states:us-east-1:000000000000:stateMachine:keel-pipeline",
      ...b,
    });
  }

  isActive(name: string): boolean {
    return this.controller.isRunningHere(name);
  }

  async experiments(): Promise<Array<ExperimentRecord & { active: boolean }>> {
    return (await this.store.list()).map((e) => ({ ...e, active: this.isActive(e.name) }));
  }

  async experiment(
    name: string,
  ): Promise<{ experiment: ExperimentRecord & { active: boolean }; trials: TrialRecord[] }> {
    const experiment = await this.store.get(name);
    return {
      experiment: { ...experiment, active: this.isActive(name) },
      trials: await this.store.trials(name),
    };
  }

  /** Runs an experiment to its end in the foreground (the CLI in process). */
  async run(name: string, opts: Omit<RunOptions, "runner"> = {}): Promise<ExperimentRecord> {
    const def = this.definition(name);
    if (!opts.resume && (await this.store.find(name)))
      throw new KeelError(
        "RESOURCE_ALREADY_EXISTS",
        `tuning experiment "${name}" already exists: resume it (keel tune resume ${name}) or choose another name`,
      );
    return this.controller.run(def.spec, { ...opts, runner: await this.runnerFor(def) });
  }

  /** Starts (or resumes) an experiment in the background; answers once it is recorded. */
  async start(name: string, opts: { resume?: boolean } = {}): Promise<ExperimentRecord> {
    const def = this.definition(name);
    if (this.isActive(name))
      throw new KeelError("INVALID_STATE", `tuning experiment "${name}" is already running`);
    if (!opts.resume && (await this.store.find(name)))
      throw new KeelError(
        "RESOURCE_ALREADY_EXISTS",
        `tuning experiment "${name}" already exists: resume it or choose another name`,
      );
    const runner = await this.runnerFor(def);
    const halt = new AbortController();
    return new Promise<ExperimentRecord>((resolve, reject) => {
      const done = this.controller
        .run(def.spec, { runner, resume: opts.resume, halt: halt.signal, onStart: resolve })
        .then(
          (exp) => exp,
          (e) => {
            this.deps.log.error("tuning experiment failed", { tuning: name, err: (e as Error).message });
            reject(e);
          },
        )
        .finally(() => this.background.delete(name));
      this.background.set(name, { halt, done });
    });
  }

  async resume(name: string): Promise<ExperimentRecord> {
    const exp = await this.store.get(name);
    if (exp.status === "SUCCEEDED")
      throw new KeelError(
        "INVALID_STATE",
        `tuning experiment "${name}" has finished (${exp.spec.maxTrials} trials)`,
      );
    return this.start(name, { resume: true });
  }

  /**
   * A running trial's rounds, from its trainer (`progressUrl`): the controller running it here
   * decides, else (the trial runs in the Step Functions path) the rule decides from the store.
   */
  async progress(name: string, trial: number, attempt: number, rounds: ProgressRound[]) {
    return (
      this.controller.report(name, trial, attempt, rounds) ??
      (await this.steps.progress(name, trial, attempt, rounds))
    );
  }

  async stop(name: string): Promise<ExperimentRecord> {
    if (!(await this.store.find(name))) throw noSuchTuning(name);
    return this.controller.stop(name);
  }

  /** Leaves background experiments where they are (RUNNING in the store: `resume` continues them). */
  async close(): Promise<void> {
    for (const b of this.background.values()) b.halt.abort();
    await Promise.allSettled([...this.background.values()].map((b) => b.done));
  }

  private async runnerFor(def: TuningDefinition): Promise<TrialRunner> {
    if (def.run) return functionRunner(def.run);
    if (def.trainStep) return trainRunner(def.trainStep, { parallelTrials: def.spec.parallelTrials });
    const pipelines = this.deps.pipelines;
    if (!pipelines || !def.pipeline)
      throw badTuning(`tuning "${def.spec.name}" runs a pipeline, but no pipelines service is wired`);
    try {
      pipelines.get(def.pipeline.name);
    } catch {
      await pipelines.register(def.pipeline);
    }
    return pipelineRunner(def.pipeline.name, def.pipelineParams, pipelines);
  }
}
