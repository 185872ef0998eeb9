import type { TraceState } from "@keel/contract";
import { type Item, isConditionFailed, type MetadataStore, type Update } from "@keel/metadata";
import { missing } from "../errors";

/** An MLflow 3 assessment (feedback or expectation) on a trace, as MLflow's JSON gives it. */
export type Assessment = Record<string, unknown> & { assessment_id: string };

/**
 * A trace's info as the metadata store keeps it: one item per trace (TRACE#<id> / TRACE) with
 * its timing, state, request metadata and tags; span data lives in the artifact store
 * (`traces.json` under the `mlflow.artifactLocation` tag). Listed per experiment through gsi1
 * (EXPTRACES#<experimentId>, sorted by request time), so a search reads one partition per
 * experiment. Tag and metadata changes are single-item updates on map entries.
 */
export interface TraceRecord {
  traceId: string;
  experimentId: string;
  /** Start of the trace, ms since the epoch. */
  requestTime: number;
  /** Duration in ms; absent while the trace is in progress (2.x StartTrace). */
  executionDuration?: number;
  state: TraceState;
  clientRequestId?: string;
  requestPreview?: string;
  responsePreview?: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  /** Runs linked with link-traces-to-run (the source run is `metadata["mlflow.sourceRun"]`). */
  linkedRuns: string[];
  /** MLflow 3 assessments (feedback, expectations) by id. */
  assessments?: Record<string, Assessment>;
  createdBy: string;
}

const traceKey = (id: string) => ({ pk: `TRACE#${id}`, sk: "TRACE" });
const tracesOf = (experimentId: string) => `EXPTRACES#${experimentId}`;
const timeKey = (ms: number) => String(Math.max(0, Math.trunc(ms))).padStart(16, "0");

function toItem(r: TraceRecord): Item {
  return {
    ...traceKey(r.traceId),
    gsi1pk: tracesOf(r.experimentId),
    gsi1sk: `${timeKey(r.requestTime)}#${r.traceId}`,
    ...r,
  };
}

function fromItem(it: Item): TraceRecord {
  return {
    traceId: it.traceId as string,
    experimentId: it.experimentId as string,
    requestTime: it.requestTime as number,
    executionDuration: it.executionDuration as number | undefined,
    state: it.state as TraceState,
    clientRequestId: it.clientRequestId as string | undefined,
    requestPreview: it.requestPreview as string | undefined,
    responsePreview: it.responsePreview as string | undefined,
    metadata: (it.metadata as Record<string, string>) ?? {},
    tags: (it.tags as Record<string, string>) ?? {},
    linkedRuns: (it.linkedRuns as string[]) ?? [],
    assessments: it.assessments as Record<string, Assessment> | undefined,
    createdBy: (it.createdBy as string) ?? "",
  };
}

export const traceNotFound = (id: string) => missing(`Trace with ID ${id} is not found.`);

export class TraceStore {
  constructor(private readonly store: MetadataStore) {}

  /** Writes a trace's info whole (StartTraceV3 may record a trace again: the last write wins). */
  async put(rec: TraceRecord): Promise<void> {
    await this.store.put(toItem(rec));
  }

  async create(rec: TraceRecord): Promise<void> {
    await this.store.put(toItem(rec), { condition: { exists: false } });
  }

  async get(id: string): Promise<TraceRecord | undefined> {
    const it = await this.store.get(traceKey(id));
    return it ? fromItem(it) : undefined;
  }

  async mustGet(id: string): Promise<TraceRecord> {
    const rec = await this.get(id);
    if (!rec) throw traceNotFound(id);
    return rec;
  }

  /** Applies an update to an existing trace; RESOURCE_DOES_NOT_EXIST when it is absent. */
  async update(id: string, update: Update): Promise<TraceRecord> {
    try {
      return fromItem(await this.store.update(traceKey(id), update, { condition: { exists: true } }));
    } catch (e) {
      if (isConditionFailed(e)) throw traceNotFound(id);
      throw e;
    }
  }

  /** Every trace of an experiment, oldest first. */
  async listByExperiment(experimentId: string): Promise<TraceRecord[]> {
    const items = await this.store.queryAll({ pk: tracesOf(experimentId), index: "gsi1" });
    return items.map(fromItem);
  }

  async delete(ids: string[]): Promise<void> {
    await this.store.batchDelete(ids.map(traceKey));
  }
}
