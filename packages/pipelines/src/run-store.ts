import { type Clock, pad } from "@keel/core";
import { type Item, isConditionFailed, type MetadataStore } from "@keel/metadata";
import type { Json, JsonObject } from "./definition";
import { noSuch } from "./errors";
import type { ExecutionStatus } from "./executor-port";

/**
 * Pipeline runs and their steps in the MetadataStore. A run and its steps share a partition
 * (`prun#<runId>`), so one query reads a whole run. Runs are listed newest first through
 * gsi1 (all pipelines) and gsi2 (one pipeline). Step records are written by two parties on
 * distinct attributes (status/times/output from execution history; cache and log details
 * from the step runtime), so their updates never overwrite each other.
 */
export type RunStatus = ExecutionStatus;
export type StepStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "SKIPPED" | "REUSED" | "CACHED";
/** How a run was started: the HTTP API (also the CLI and SDK), a schedule, a backfill, a resume. */
export type Trigger = "api" | "schedule" | "backfill" | "resume" | "reproduce";

export interface PipelineRun {
  runId: string;
  pipeline: string;
  status: RunStatus;
  params: JsonObject;
  noCache: boolean;
  trigger: Trigger;
  principal: string;
  startTime: number;
  endTime?: number;
  executionId?: string;
  error?: string;
  cause?: string;
  output?: Json;
  resumedFrom?: string;
  /** The run this one re-ran with the same recorded inputs (`keel pipeline reproduce`). */
  reproducedFrom?: string;
  /** The run's reproducibility record (git commit, lockfile and input hashes, params, seeds). */
  reproducibilityUri?: string;
  trackingRunId?: string;
  trackingExperimentId?: string;
  /** The last history event applied by a catch-up read (remote executors). */
  historySeq?: number;
}

export interface StepRecord {
  step: string;
  /** Map iteration, when this record is one element of a map step. */
  index?: number;
  status: StepStatus;
  attempts: number;
  startTime?: number;
  endTime?: number;
  error?: string;
  cause?: string;
  output?: Json;
  cacheKey?: string;
  /** Set when the output came from the step cache: the run that computed it. */
  cachedFrom?: string;
  logUri?: string;
  /** The last lines of the step's log (at most 20 lines, 4000 characters). */
  logTail?: string;
  trackingRunId?: string;
  /** The step failed but was declared onFailure: "continue". */
  continued?: boolean;
  /** When the record last changed. */
  updatedAt?: number;
}

const runKey = (runId: string) => ({ pk: `prun#${runId}`, sk: "run" });
const stepSk = (step: string, index?: number) =>
  index === undefined ? `step#${step}` : `step#${step}#${pad(index, 6)}`;
const JSON_FIELDS = ["params", "output"] as const;

function encode(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    out[k] = (JSON_FIELDS as readonly string[]).includes(k) ? JSON.stringify(v) : v;
  }
  return out;
}

function decode<T>(item: Item): T {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, gsi2pk: _c, gsi2sk: _d, ...rest } = item;
  for (const f of JSON_FIELDS) if (typeof rest[f] === "string") rest[f] = JSON.parse(rest[f] as string);
  return rest as T;
}

export class RunStore {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
  ) {}

  /** Creates a run if its id is new (conditional put); returns false, changing nothing, when it exists. */
  async createRun(run: PipelineRun): Promise<boolean> {
    const sort = `${pad(run.startTime)}#${run.runId}`;
    try {
      await this.store.put(
        {
          ...runKey(run.runId),
          ...encode({ ...run }),
          gsi1pk: "pruns",
          gsi1sk: sort,
          gsi2pk: `pruns#${run.pipeline}`,
          gsi2sk: sort,
        },
        { condition: { exists: false } },
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** The run; RESOURCE_DOES_NOT_EXIST when unknown. */
  async getRun(runId: string): Promise<PipelineRun> {
    const item = await this.store.get(runKey(runId));
    if (!item) throw noSuch(`pipeline run "${runId}" does not exist`);
    return decode<PipelineRun>(item);
  }

  async setRun(runId: string, fields: Partial<PipelineRun>): Promise<void> {
    await this.store.update(runKey(runId), { set: Object.entries(encode(fields)) });
  }

  /** Moves a RUNNING run to a final status; false when it had already finished (first writer wins). */
  async finishRun(runId: string, fields: Partial<PipelineRun> & { status: RunStatus }): Promise<boolean> {
    try {
      await this.store.update(
        runKey(runId),
        { set: Object.entries(encode(fields)) },
        { condition: { path: "status", eq: "RUNNING" } },
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** A run and its step records (map elements after their map step). */
  async getRunWithSteps(runId: string): Promise<{ run: PipelineRun; steps: StepRecord[] }> {
    const items = await this.store.queryAll({ pk: `prun#${runId}`, consistent: true });
    const runItem = items.find((i) => i.sk === "run");
    if (!runItem) throw noSuch(`pipeline run "${runId}" does not exist`);
    const steps = items.filter((i) => i.sk.startsWith("step#")).map((i) => decode<StepRecord>(i));
    return { run: decode<PipelineRun>(runItem), steps };
  }

  /** Runs newest first, optionally of one pipeline. */
  async listRuns(
    opts: { pipeline?: string; limit?: number; cursor?: string } = {},
  ): Promise<{ runs: PipelineRun[]; cursor?: string }> {
    const page = await this.store.query({
      pk: opts.pipeline ? `pruns#${opts.pipeline}` : "pruns",
      index: opts.pipeline ? "gsi2" : "gsi1",
      descending: true,
      limit: opts.limit ?? 50,
      cursor: opts.cursor,
    });
    return { runs: page.items.map((i) => decode<PipelineRun>(i)), cursor: page.cursor };
  }

  async getStep(runId: string, step: string, index?: number): Promise<StepRecord | undefined> {
    const item = await this.store.get({ pk: `prun#${runId}`, sk: stepSk(step, index) });
    return item ? decode<StepRecord>(item) : undefined;
  }

  /** Applies a change to a step record (creating it), returning the record afterwards. */
  async updateStep(
    runId: string,
    step: string,
    index: number | undefined,
    change: { set?: Partial<StepRecord>; setIfMissing?: Partial<StepRecord>; addAttempts?: number },
  ): Promise<StepRecord> {
    const item = await this.store.update(
      { pk: `prun#${runId}`, sk: stepSk(step, index) },
      {
        set: Object.entries(
          encode({
            step,
            ...(index === undefined ? {} : { index }),
            ...change.set,
            updatedAt: this.clock.now(),
          }),
        ),
        setIfMissing: Object.entries(encode({ ...change.setIfMissing })),
        ...(change.addAttempts ? { add: [["attempts", change.addAttempts] as [string, number]] } : {}),
      },
    );
    return decode<StepRecord>(item);
  }
}
