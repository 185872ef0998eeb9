import { currentPrincipal } from "@keel/core";
import {
  type Condition,
  type Item,
  isConditionFailed,
  MetadataError,
  type MetadataStore,
  type Update,
} from "@keel/metadata";
import { invalidParam, missing } from "./errors";
import type { StoredValue } from "./metric-values";
import type { Dataset, RunStatus } from "./schemas";

export const RUN_NAME_TAG = "mlflow.runName";

/**
 * Runs in the single table. One item per run (RUN#<id> / RUN) holds its info, params, tags,
 * the latest value of every metric and its dataset inputs, so get-run and search read one item
 * per run and never a history. The item is listed per experiment through gsi1
 * (EXPRUNS#<experimentId>#<shard>), so a search reads only that experiment's runs.
 *
 * Concurrency: every change increments `version`. Multi-key changes (log-batch, tags, params,
 * lifecycle) read the item and write it back conditional on the version they read, retrying on
 * conflict, so a batch is applied whole or not at all. The hot path, a single log-metric, is one
 * UpdateItem conditional on the new point being at least as recent (step, timestamp) as the
 * latest one, so concurrent writers never regress it and never conflict with each other.
 */
export interface LatestMetric {
  v: StoredValue;
  t: number;
  s: number;
  /**
   * (step, timestamp) as one string whose lexical order is their numeric order, so "at least
   * as recent" is a single comparison in the write condition.
   */
  o: string;
}

const ORDER_OFFSET = 2n ** 63n;
const orderPart = (n: number) => (BigInt(n) + ORDER_OFFSET).toString().padStart(20, "0");

export function latestMetric(v: StoredValue, t: number, s: number): LatestMetric {
  return { v, t, s, o: `${orderPart(s)}:${orderPart(t)}` };
}

export interface StoredInput {
  seq: number;
  dataset: Dataset;
  tags?: Array<{ key: string; value: string }>;
}

export interface RunRecord {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  artifactUri: string;
  lifecycleStage: "active" | "deleted";
  deletedTime?: number;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, LatestMetric>;
  inputs: Record<string, StoredInput>;
  /** Logged models the run produced (MLflow 3 log-outputs): model id -> step. */
  outputs?: Record<string, number>;
  /** Logged models the run used (MLflow 3 log-inputs `models`), in order. */
  modelInputs?: string[];
  version: number;
  /** The principal that created the run (every write also stamps `updatedBy`). */
  createdBy: string;
}

/** DynamoDB's item limit is 400 KB; stay clear of it so the error is ours and explicit. */
const MAX_RUN_ITEM_BYTES = 390_000;
const MAX_ATTEMPTS = 200;
/** Entries one conditioned UpdateItem may carry and stay under DynamoDB's 4 KB expression limit. */
const MAX_CONDITIONED_ENTRIES = 24;

export interface RunLog {
  params: Array<{ key: string; value: string }>;
  tags: Array<{ key: string; value: string }>;
  /** The most recent point per key among those being logged. */
  metrics: Map<string, LatestMetric>;
}

interface LogPlan {
  params: Array<{ key: string; value: string }>;
  tags: Array<{ key: string; value: string }>;
  metrics: Array<[string, LatestMetric]>;
}

export function mustBeActive(rec: RunRecord): void {
  if (rec.lifecycleStage !== "active") {
    throw invalidParam(
      `The run ${rec.runId} must be in the 'active' state. Current state is ${rec.lifecycleStage}.`,
    );
  }
}

/**
 * Checks a log against the record (active run, immutable params) and applies it to `rec` in
 * memory; returns the entries that change anything, or undefined when none do.
 */
function planLog(rec: RunRecord, log: RunLog): LogPlan | undefined {
  mustBeActive(rec);
  const plan: LogPlan = { params: [], tags: log.tags, metrics: [] };
  for (const p of log.params) {
    const old = rec.params[p.key];
    if (old !== undefined && old !== p.value) {
      throw invalidParam(
        `Changing param values is not allowed. Param with key='${p.key}' was already logged with ` +
          `value='${old}' for run ID='${rec.runId}'. Attempted logging new value '${p.value}'.`,
      );
    }
    if (old === undefined) plan.params.push(p);
  }
  for (const [key, m] of log.metrics) if (isNewer(rec.metrics[key], m.s, m.t)) plan.metrics.push([key, m]);
  for (const p of plan.params) rec.params[p.key] = p.value;
  for (const t of plan.tags) {
    rec.tags[t.key] = t.value;
    if (t.key === RUN_NAME_TAG) rec.runName = t.value;
  }
  for (const [key, m] of plan.metrics) rec.metrics[key] = m;
  return plan.params.length || plan.tags.length || plan.metrics.length ? plan : undefined;
}

function newerCondition(key: string, m: LatestMetric): Condition {
  return {
    or: [
      { path: ["metrics", key], exists: false },
      { path: ["metrics", key, "o"], le: m.o },
    ],
  };
}

function conditionFor(plan: LogPlan): Condition {
  return {
    and: [
      { path: "lifecycleStage", eq: "active" },
      ...plan.params.map(
        (p): Condition => ({
          or: [
            { path: ["params", p.key], exists: false },
            { path: ["params", p.key], eq: p.value },
          ],
        }),
      ),
      ...plan.metrics.map(([key, m]) => newerCondition(key, m)),
    ],
  };
}

function conditionedUpdate(rec: RunRecord, plan: LogPlan): Update {
  const set: Array<[string | string[], unknown]> = [["updatedBy", currentPrincipal()]];
  for (const p of plan.params) set.push([["params", p.key], p.value]);
  for (const t of plan.tags) set.push([["tags", t.key], t.value]);
  for (const [key, m] of plan.metrics) set.push([["metrics", key], m]);
  if (plan.tags.some((t) => t.key === RUN_NAME_TAG)) set.push(["runName", rec.runName]);
  return { set, add: [["version", 1]] };
}

export const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: "RUN" });
/**
 * An experiment's runs are spread over a few index partitions (by run id) so a search reads
 * them with parallel queries: in DynamoDB a partition's pages come one after another.
 */
const RUN_LIST_SHARDS = 4;
const runsOf = (experimentId: string, shard: number) => `EXPRUNS#${experimentId}#${shard}`;
const shardOf = (runId: string) => Number.parseInt(runId.slice(-2), 16) % RUN_LIST_SHARDS || 0;

export function fromRunItem(it: Item): RunRecord {
  return {
    runId: String(it.runId),
    experimentId: String(it.experimentId),
    runName: String(it.runName ?? ""),
    userId: String(it.userId ?? ""),
    status: it.status as RunStatus,
    startTime: Number(it.startTime),
    endTime: it.endTime === undefined ? undefined : Number(it.endTime),
    artifactUri: String(it.artifactUri),
    lifecycleStage: it.lifecycleStage === "deleted" ? "deleted" : "active",
    deletedTime: it.deletedTime === undefined ? undefined : Number(it.deletedTime),
    params: (it.params as Record<string, string>) ?? {},
    tags: (it.tags as Record<string, string>) ?? {},
    metrics: (it.metrics as Record<string, LatestMetric>) ?? {},
    inputs: (it.inputs as Record<string, StoredInput>) ?? {},
    outputs: it.outputs as Record<string, number> | undefined,
    modelInputs: it.modelInputs as string[] | undefined,
    version: Number(it.version ?? 0),
    createdBy: String(it.createdBy ?? ""),
  };
}

function toItem(rec: RunRecord): Item {
  return {
    ...runKey(rec.runId),
    kind: "run",
    ...rec,
    updatedBy: currentPrincipal(),
    gsi1pk: runsOf(rec.experimentId, shardOf(rec.runId)),
    gsi1sk: rec.runId,
  };
}

function checkSize(item: Item): void {
  const bytes = Buffer.byteLength(JSON.stringify(item));
  if (bytes > MAX_RUN_ITEM_BYTES) {
    throw invalidParam(
      `Run ${item.runId} would take ${bytes} bytes, over the ${MAX_RUN_ITEM_BYTES}-byte limit of one run record ` +
        "(too many or too large params, tags, metric keys or dataset inputs).",
    );
  }
}

/** Whether a new point (step, timestamp) is at least as recent as the latest one. */
export function isNewer(latest: LatestMetric | undefined, step: number, timestamp: number): boolean {
  return !latest || latest.s < step || (latest.s === step && latest.t <= timestamp);
}

export class RunStore {
  constructor(private readonly store: MetadataStore) {}

  async create(rec: RunRecord): Promise<void> {
    const item = toItem(rec);
    checkSize(item);
    await this.store.put(item, { condition: { exists: false } });
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const it = await this.store.get(runKey(runId));
    return it ? fromRunItem(it) : undefined;
  }

  async mustGet(runId: string): Promise<RunRecord> {
    const rec = await this.get(runId);
    if (!rec) throw missing(`Run with id=${runId} not found`);
    return rec;
  }

  /** Every run of an experiment (any lifecycle stage), read through the experiment's index partition. */
  async listByExperiment(experimentId: string): Promise<RunRecord[]> {
    const shards = Array.from({ length: RUN_LIST_SHARDS }, (_, i) =>
      this.store.queryAll({ pk: runsOf(experimentId, i), index: "gsi1" }),
    );
    const items = (await Promise.all(shards)).flat();
    return items.map(fromRunItem);
  }

  /**
   * Applies `change` to the current record and writes it back if nobody changed the run in
   * between; otherwise re-reads and re-applies. `change` validates (and throws to abort with
   * nothing written) or returns false when there is nothing to write.
   */
  async mutate(runId: string, change: (rec: RunRecord) => unknown): Promise<RunRecord> {
    for (let attempt = 0; ; attempt++) {
      const rec = await this.mustGet(runId);
      const readVersion = rec.version;
      if (change(rec) === false) return rec;
      rec.version = readVersion + 1;
      const item = toItem(rec);
      checkSize(item);
      try {
        await this.store.put(item, { condition: { path: "version", eq: readVersion } });
        return rec;
      } catch (e) {
        await this.retryOrThrow(e, runId, attempt);
      }
    }
  }

  /**
   * Logs params, tags and latest metric values in one write. Small logs (the usual case) are
   * one UpdateItem whose condition covers exactly the entries written: each new param is still
   * absent or equal, each metric is still at least as recent as the latest. Writers touching
   * other keys therefore never conflict. Logs too large for DynamoDB's 4 KB expression limit
   * fall back to a whole-record write conditional on the version. Either way the log is
   * validated against the record first and applied whole or not at all.
   */
  async log(runId: string, log: RunLog): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const rec = await this.mustGet(runId);
      const readVersion = rec.version;
      const plan = planLog(rec, log);
      if (!plan) return;
      rec.version = readVersion + 1;
      const item = toItem(rec);
      checkSize(item);
      try {
        if (plan.params.length + plan.metrics.length + plan.tags.length > MAX_CONDITIONED_ENTRIES) {
          await this.store.put(item, { condition: { path: "version", eq: readVersion } });
        } else {
          await this.store.update(runKey(runId), conditionedUpdate(rec, plan), {
            condition: conditionFor(plan),
          });
        }
        return;
      } catch (e) {
        await this.retryOrThrow(e, runId, attempt);
      }
    }
  }

  private async retryOrThrow(e: unknown, runId: string, attempt: number): Promise<void> {
    if (e instanceof MetadataError && e.code === "INVALID_PARAMETER_VALUE") {
      throw invalidParam(`Run ${runId} is too large to store: ${e.message}`);
    }
    if (!isConditionFailed(e) || attempt >= MAX_ATTEMPTS) throw e;
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 + 2 * attempt)));
  }

  /**
   * Records a metric point as the latest value if it is at least as recent as the current one.
   * Returns "updated", "older" (a valid point, just not the latest) or the reason it was refused.
   */
  async setLatestMetric(
    runId: string,
    key: string,
    m: LatestMetric,
  ): Promise<"updated" | "older" | "missing" | "inactive"> {
    try {
      await this.store.update(
        runKey(runId),
        {
          set: [
            [["metrics", key], m],
            ["updatedBy", currentPrincipal()],
          ],
          add: [["version", 1]],
        },
        {
          condition: {
            and: [{ path: "lifecycleStage", eq: "active" }, newerCondition(key, m)],
          },
        },
      );
      return "updated";
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      const rec = await this.get(runId);
      if (!rec) return "missing";
      if (rec.lifecycleStage !== "active") return "inactive";
      return "older";
    }
  }
}
