import { createHash } from "node:crypto";
import type { EvalDataset, EvalDatasetRequest } from "@keel/contract";
import { currentPrincipal, newId } from "@keel/core";
import type { Item, MetadataStore } from "@keel/metadata";
import { activeExperiment } from "../artifact-scope";
import { invalidParam, missing, missingParam } from "../errors";
import { decodePageToken, encodePageToken } from "../page-token";
import { matchesAll, orderComparator, type Searchable } from "../search-eval";
import { parseFilter, parseOrderBy, type SearchTarget } from "../search-grammar";
import type { TrackingContext } from "../tracking-context";

const dsKey = (id: string) => ({ pk: `EVALDS#${id}`, sk: "DS" });
const recordKey = (id: string, inputsHash: string) => ({ pk: `EVALDS#${id}`, sk: `REC#${inputsHash}` });
const ALL_DATASETS = "EVALDATASETS";

const SEARCH: SearchTarget = {
  what: "runs",
  entities: ["tag", "attribute"],
  attributes: {
    name: "name",
    dataset_id: "dataset_id",
    created_time: "created_time",
    last_update_time: "last_update_time",
    created_by: "created_by",
    last_updated_by: "last_updated_by",
  },
  numericAttributes: new Set(["created_time", "last_update_time"]),
  datasetKeys: [],
};

const required = (v: string | undefined, name: string): string => {
  if (!v) throw missingParam(name);
  return v;
};

function parseJsonObject(s: string | undefined, what: string): Record<string, unknown> {
  if (s === undefined || s === "") return {};
  try {
    const v = JSON.parse(s);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw invalidParam(`Invalid value for parameter '${what}': must be a JSON object.`);
}

function datasetJson(it: Item): EvalDataset {
  return {
    dataset_id: it.datasetId as string,
    name: it.name as string,
    tags: JSON.stringify(it.tags ?? {}),
    ...(it.schema !== undefined && { schema: it.schema as string }),
    ...(it.profile !== undefined && { profile: it.profile as string }),
    digest: it.digest as string,
    created_time: it.createdTime as number,
    last_update_time: it.lastUpdateTime as number,
    ...(it.createdBy !== undefined && { created_by: it.createdBy as string }),
    ...(it.lastUpdatedBy !== undefined && { last_updated_by: it.lastUpdatedBy as string }),
    experiment_ids: (it.experimentIds as string[]) ?? [],
  };
}

/** A record's identity within its dataset: its inputs, as canonical JSON. */
function inputsHash(inputs: unknown): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : v;
  return createHash("sha256")
    .update(JSON.stringify(canonical(inputs)))
    .digest("hex")
    .slice(0, 40);
}

/**
 * MLflow 3's evaluation datasets: one item per dataset (listed through gsi1) and one item per
 * record under the dataset's partition, keyed by its inputs, so upserting a record with the same
 * inputs updates it (expectations and tags merged) instead of adding another.
 */
export class EvalDatasetService {
  private readonly store: MetadataStore;

  constructor(private readonly ctx: TrackingContext) {
    this.store = ctx.deps.store;
  }

  private async mustGet(id: string): Promise<Item> {
    const it = await this.store.get(dsKey(id));
    if (!it) throw missing(`Dataset '${id}' not found.`);
    return it;
  }

  async create(r: EvalDatasetRequest): Promise<{ dataset: EvalDataset }> {
    const name = required(r.name, "name");
    const experimentIds = r.experiment_ids ?? [];
    for (const id of experimentIds) await activeExperiment(this.ctx, id);
    const now = this.ctx.now();
    const datasetId = `d-${newId()}`;
    const user = r.created_by ?? currentPrincipal();
    const item: Item = {
      ...dsKey(datasetId),
      gsi1pk: ALL_DATASETS,
      gsi1sk: `${String(now).padStart(16, "0")}#${datasetId}`,
      datasetId,
      name,
      tags: parseJsonObject(r.tags, "tags"),
      ...(r.schema !== undefined && { schema: r.schema }),
      ...(r.profile !== undefined && { profile: r.profile }),
      digest: createHash("sha256").update(`${name}:${now}`).digest("hex").slice(0, 8),
      createdTime: now,
      lastUpdateTime: now,
      createdBy: user,
      lastUpdatedBy: user,
      experimentIds,
    };
    await this.store.put(item, { condition: { exists: false } });
    return { dataset: datasetJson(item) };
  }

  async get(id: string): Promise<{ dataset: EvalDataset }> {
    return { dataset: datasetJson(await this.mustGet(required(id, "dataset_id"))) };
  }

  async experimentIds(id: string): Promise<{ experiment_ids?: string[] }> {
    return { experiment_ids: datasetJson(await this.mustGet(id)).experiment_ids };
  }

  async delete(id: string): Promise<Record<string, never>> {
    await this.mustGet(id);
    const items = await this.store.queryAll({ pk: dsKey(id).pk });
    await this.store.batchDelete(items.map((it) => ({ pk: it.pk, sk: it.sk })));
    return {};
  }

  async setTags(id: string, tags: string | undefined): Promise<{ dataset: EvalDataset }> {
    const entries = Object.entries(parseJsonObject(required(tags, "tags"), "tags"));
    await this.mustGet(id);
    const it = await this.store.update(dsKey(id), {
      set: [
        ...entries.map(([k, v]): [string[], unknown] => [["tags", k], v]),
        ["lastUpdateTime", this.ctx.now()],
      ],
    });
    return { dataset: datasetJson(it) };
  }

  async deleteTag(id: string, key: string | undefined): Promise<Record<string, never>> {
    const tagKey = required(key, "key");
    await this.mustGet(id);
    await this.store.update(dsKey(id), { remove: [["tags", tagKey]] });
    return {};
  }

  async search(r: EvalDatasetRequest): Promise<{ datasets?: EvalDataset[]; next_page_token?: string }> {
    const clauses = parseFilter(r.filter_string, SEARCH);
    const orderings = [
      ...parseOrderBy(r.order_by, SEARCH),
      { entity: "attribute" as const, key: "created_time", ascending: false },
    ];
    const scope = new Set(r.experiment_ids ?? []);
    const query = JSON.stringify([[...scope], r.filter_string ?? "", r.order_by ?? []]);
    const offset = decodePageToken(r.page_token, query);
    const max = r.max_results ?? 1000;
    const all = (await this.store.queryAll({ pk: ALL_DATASETS, index: "gsi1" })).map(datasetJson);
    const searchable = (d: EvalDataset): Searchable & { d: EvalDataset } => {
      const tags = JSON.parse(d.tags ?? "{}") as Record<string, unknown>;
      return {
        d,
        metric: () => undefined,
        param: () => undefined,
        datasets: () => [],
        tag: (k) => (tags[k] === undefined ? undefined : String(tags[k])),
        attribute: (k) => (d as unknown as Record<string, string | number | undefined>)[k],
      };
    };
    const sorted = all
      .filter((d) => scope.size === 0 || d.experiment_ids.some((e) => scope.has(e)))
      .map(searchable)
      .filter((s) => matchesAll(s, clauses))
      .sort(orderComparator(orderings, (a, b) => (a.d.dataset_id < b.d.dataset_id ? -1 : 1)))
      .map((s) => s.d);
    const next = offset + max < sorted.length ? encodePageToken(offset + max, query) : undefined;
    return { datasets: sorted.slice(offset, offset + max), ...(next && { next_page_token: next }) };
  }

  async upsertRecords(
    id: string,
    r: EvalDatasetRequest,
  ): Promise<{ inserted_count: number; updated_count: number }> {
    await this.mustGet(id);
    let records: unknown;
    try {
      records = JSON.parse(required(r.records, "records"));
    } catch (e) {
      if (e instanceof Error && e.name === "TrackingError") throw e;
      throw invalidParam("Invalid value for parameter 'records': must be a JSON list of records.");
    }
    if (!Array.isArray(records))
      throw invalidParam("Invalid value for parameter 'records': must be a JSON list.");
    const now = this.ctx.now();
    const user = r.updated_by ?? currentPrincipal();
    let inserted = 0;
    let updated = 0;
    const byHash = new Map<string, Item>();
    for (const raw of records as Array<Record<string, unknown>>) {
      if (!raw || typeof raw !== "object" || raw.inputs === undefined) {
        throw invalidParam("Each record must be a JSON object with 'inputs'.");
      }
      const h = inputsHash(raw.inputs);
      const existing = byHash.get(h) ?? (await this.store.get(recordKey(id, h)));
      const obj = (v: unknown) => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});
      if (existing) updated++;
      else inserted++;
      byHash.set(h, {
        ...recordKey(id, h),
        datasetRecordId: (existing?.datasetRecordId as string) ?? `dr-${newId()}`,
        inputs: raw.inputs,
        expectations: { ...obj(existing?.expectations), ...obj(raw.expectations) },
        tags: { ...obj(existing?.tags), ...obj(raw.tags) },
        ...(raw.outputs !== undefined && { outputs: raw.outputs }),
        ...(raw.source !== undefined && { source: raw.source }),
        createdTime: (existing?.createdTime as number) ?? now,
        lastUpdateTime: now,
        createdBy: (existing?.createdBy as string) ?? user,
        lastUpdatedBy: user,
      });
    }
    await this.store.batchPut([...byHash.values()]);
    await this.store.update(dsKey(id), {
      set: [
        ["lastUpdateTime", now],
        ["lastUpdatedBy", user],
      ],
    });
    return { inserted_count: inserted, updated_count: updated };
  }

  async records(id: string): Promise<{ records: string }> {
    await this.mustGet(id);
    const items = await this.store.queryAll({ pk: dsKey(id).pk, prefix: "REC#" });
    return {
      records: JSON.stringify(
        items.map((it) => ({
          dataset_record_id: it.datasetRecordId,
          dataset_id: id,
          inputs: it.inputs,
          expectations: it.expectations,
          tags: it.tags,
          ...(it.outputs !== undefined && { outputs: it.outputs }),
          ...(it.source !== undefined && { source: it.source }),
          created_time: it.createdTime,
          last_update_time: it.lastUpdateTime,
          created_by: it.createdBy,
          last_updated_by: it.lastUpdatedBy,
        })),
      ),
    };
  }
}
