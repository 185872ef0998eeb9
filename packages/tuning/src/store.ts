import { KeelError } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { ConditionFailedError } from "@keel/metadata";
import type { TrialStatus } from "./algorithms/port";
import type { TuningSpec } from "./definition";
import { noSuchTuning } from "./errors";
import type { Params } from "./space";

export type ExperimentStatus = "RUNNING" | "SUCCEEDED" | "STOPPED" | "FAILED";

export interface BestTrial {
  number: number;
  value: number;
  params: Params;
  trackingRunId?: string;
  modelUri?: string;
}

export interface ExperimentRecord {
  name: string;
  status: ExperimentStatus;
  spec: TuningSpec;
  createdAt: number;
  updatedAt: number;
  endTime?: number;
  /** Set by `stop`; the controller stops its running trials when it sees it. */
  stopRequested?: boolean;
  trackingRunId?: string;
  trackingExperimentId?: string;
  best?: BestTrial;
  registered?: { model: string; version: string; promotionId?: string; promotionStatus?: string };
  error?: string;
}

export interface TrialRecord {
  number: number;
  params: Params;
  status: TrialStatus;
  /** Attempts started so far (a retried trial keeps its number and parameters). */
  attempts: number;
  startTime?: number;
  endTime?: number;
  /** The objective metric's final value. */
  value?: number;
  metrics?: Record<string, number>;
  /** Intermediate values of the early-stopping metric: [step, value]. */
  curve: Array<[number, number]>;
  /** Step at which early stopping stopped it. */
  stoppedAt?: number;
  error?: string;
  trackingRunId?: string;
  modelUri?: string;
}

const EXPERIMENTS = "tuning";
const trialsPk = (name: string) => `tuning#${name}`;
const trialSk = (n: number) => `trial#${String(n).padStart(6, "0")}`;

function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as T;
}

/**
 * Tuning state in the MetadataStore: one item per experiment (partition "tuning") and one per
 * trial (partition "tuning#<name>", sorted by number). Everything a controller needs to resume
 * is here: the spec, every suggestion before it runs, each trial's status, attempts and reports.
 */
export class TuningStore {
  constructor(private readonly store: MetadataStore) {}

  async create(rec: ExperimentRecord): Promise<void> {
    try {
      await this.store.put({ pk: EXPERIMENTS, sk: rec.name, ...rec }, { condition: { exists: false } });
    } catch (e) {
      if (e instanceof ConditionFailedError)
        throw new KeelError(
          "RESOURCE_ALREADY_EXISTS",
          `tuning experiment "${rec.name}" already exists: resume it (keel tune resume ${rec.name}) or choose another name`,
        );
      throw e;
    }
  }

  async find(name: string): Promise<ExperimentRecord | undefined> {
    const item = await this.store.get({ pk: EXPERIMENTS, sk: name });
    return item ? strip<ExperimentRecord>(item) : undefined;
  }

  async get(name: string): Promise<ExperimentRecord> {
    const rec = await this.find(name);
    if (!rec) throw noSuchTuning(name);
    return rec;
  }

  async list(): Promise<ExperimentRecord[]> {
    return (await this.store.queryAll({ pk: EXPERIMENTS })).map((i) => strip<ExperimentRecord>(i));
  }

  async update(name: string, fields: Partial<ExperimentRecord>, remove: Array<keyof ExperimentRecord> = []) {
    const item = await this.store.update(
      { pk: EXPERIMENTS, sk: name },
      {
        set: Object.entries(fields).filter(([, v]) => v !== undefined) as Array<[string, unknown]>,
        ...(remove.length ? { remove: remove as string[] } : {}),
      },
      { condition: { exists: true } },
    );
    return strip<ExperimentRecord>(item);
  }

  /** Writes a new trial; false when that number is taken (another controller suggested it). */
  async addTrial(name: string, t: TrialRecord): Promise<boolean> {
    try {
      await this.store.put(
        { pk: trialsPk(name), sk: trialSk(t.number), ...t },
        { condition: { exists: false } },
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionFailedError) return false;
      throw e;
    }
  }

  async updateTrial(
    name: string,
    n: number,
    fields: Partial<TrialRecord>,
    remove: Array<keyof TrialRecord> = [],
  ) {
    const item = await this.store.update(
      { pk: trialsPk(name), sk: trialSk(n) },
      {
        set: Object.entries(fields).filter(([, v]) => v !== undefined) as Array<[string, unknown]>,
        ...(remove.length ? { remove: remove as string[] } : {}),
      },
    );
    return strip<TrialRecord>(item);
  }

  async appendCurve(name: string, n: number, points: Array<[number, number]>): Promise<void> {
    if (points.length)
      await this.store.update({ pk: trialsPk(name), sk: trialSk(n) }, { append: [["curve", points]] });
  }

  async trials(name: string): Promise<TrialRecord[]> {
    return (await this.store.queryAll({ pk: trialsPk(name), consistent: true })).map((i) =>
      strip<TrialRecord>(i),
    );
  }
}
