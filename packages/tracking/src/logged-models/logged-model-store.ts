import type { LoggedModelStatus } from "@keel/contract";
import { type Item, isConditionFailed, type MetadataStore, type Update } from "@keel/metadata";
import { missing } from "../errors";

/**
 * MLflow 3 logged models in the single table: one item per model (LMODEL#<id> / LMODEL) with
 * its info, tags and params, listed per experiment through gsi1 (EXPMODELS#<experimentId>,
 * sorted by creation time). Tag and param changes are single-item updates on map entries.
 */
/** A metric value measured for a logged model (MLflow 3 log-metric with `model_id`). */
export interface ModelMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  run_id: string;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface LoggedModelRecord {
  modelId: string;
  experimentId: string;
  name: string;
  creationTime: number;
  lastUpdatedTime: number;
  artifactUri: string;
  status: LoggedModelStatus;
  modelType?: string;
  sourceRunId?: string;
  statusMessage?: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: ModelMetric[];
  createdBy: string;
}

const modelKey = (id: string) => ({ pk: `LMODEL#${id}`, sk: "LMODEL" });
const modelsOf = (experimentId: string) => `EXPMODELS#${experimentId}`;

function toItem(r: LoggedModelRecord): Item {
  return {
    ...modelKey(r.modelId),
    gsi1pk: modelsOf(r.experimentId),
    gsi1sk: `${String(r.creationTime).padStart(16, "0")}#${r.modelId}`,
    ...r,
  };
}

function fromItem(it: Item): LoggedModelRecord {
  return {
    modelId: it.modelId as string,
    experimentId: it.experimentId as string,
    name: it.name as string,
    creationTime: it.creationTime as number,
    lastUpdatedTime: it.lastUpdatedTime as number,
    artifactUri: it.artifactUri as string,
    status: it.status as LoggedModelStatus,
    modelType: it.modelType as string | undefined,
    sourceRunId: it.sourceRunId as string | undefined,
    statusMessage: it.statusMessage as string | undefined,
    tags: (it.tags as Record<string, string>) ?? {},
    params: (it.params as Record<string, string>) ?? {},
    metrics: (it.metrics as ModelMetric[]) ?? [],
    createdBy: (it.createdBy as string) ?? "",
  };
}

export const modelNotFound = (id: string) => missing(`Logged model with ID '${id}' not found.`);

export class LoggedModelStore {
  constructor(private readonly store: MetadataStore) {}

  async create(rec: LoggedModelRecord): Promise<void> {
    await this.store.put(toItem(rec), { condition: { exists: false } });
  }

  async get(id: string): Promise<LoggedModelRecord | undefined> {
    const it = await this.store.get(modelKey(id));
    return it ? fromItem(it) : undefined;
  }

  async mustGet(id: string): Promise<LoggedModelRecord> {
    const rec = await this.get(id);
    if (!rec) throw modelNotFound(id);
    return rec;
  }

  /** Applies an update to an existing model; RESOURCE_DOES_NOT_EXIST when it is absent. */
  async update(id: string, update: Update): Promise<LoggedModelRecord> {
    try {
      return fromItem(await this.store.update(modelKey(id), update, { condition: { exists: true } }));
    } catch (e) {
      if (isConditionFailed(e)) throw modelNotFound(id);
      throw e;
    }
  }

  /** Records a metric value measured for a model; RESOURCE_DOES_NOT_EXIST when the model is absent. */
  async appendMetric(id: string, m: ModelMetric): Promise<void> {
    await this.update(id, { append: [["metrics", [m]]] });
  }

  async listByExperiment(experimentId: string): Promise<LoggedModelRecord[]> {
    const items = await this.store.queryAll({ pk: modelsOf(experimentId), index: "gsi1" });
    return items.map(fromItem);
  }

  async delete(id: string): Promise<void> {
    await this.store.delete(modelKey(id));
  }
}
