import { currentPrincipal } from "@keel/core";
import { type Item, isConditionFailed, MetadataError, type MetadataStore } from "@keel/metadata";
import { invalidParam, missing } from "./errors";
import type { StoredValue } from "./metric-values";
import type { Dataset, RunStatus } from "./schemas";

/**
 * Runs in the single table. One item per run (RUN#<id> / RUN) holds its info, params, tags,
 * the latest value of every metric and its dataset inputs, so get-run and search read one item
 * per run and never a history. The item is listed per experiment through gsi1
 * (EXPRUNS#<experimentId>), so a search reads only that experiment's runs.
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
  version: number;
  /** The principal that created the run (every write also stamps `updatedBy`). */
  createdBy: string;
}

/** DynamoDB's item limit is 400 KB; stay clear of it so the error is ours and explicit. */
const MAX_RUN_ITEM_BYTES = 390_000;
const MAX_ATTEMPTS = 200;

export const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: "RUN" });
const runsOf = (experimentId: string) => `EXPRUNS#${experimentId}`;

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
    gsi1pk: runsOf(rec.experimentId),
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
    const items = await this.store.queryAll({ pk: runsOf(experimentId), index: "gsi1" });
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
        if (e instanceof MetadataError && e.code === "INVALID_PARAMETER_VALUE") {
          throw invalidParam(`Run ${runId} is too large to store: ${e.message}`);
        }
        if (!isConditionFailed(e) || attempt >= MAX_ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 1 + attempt)));
      }
    }
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
    const at = (f: string) => ["metrics", key, f];
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
            and: [
              { path: "lifecycleStage", eq: "active" },
              {
                or: [
                  { path: ["metrics", key], exists: false },
                  { path: at("s"), lt: m.s },
                  {
                    and: [
                      { path: at("s"), eq: m.s },
                      { path: at("t"), le: m.t },
                    ],
                  },
                ],
              },
            ],
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
