import type { SearchLoggedModelsRequest } from "@keel/contract";
import { decodePageToken, encodePageToken } from "../page-token";
import { matchesAll, orderComparator, type Searchable } from "../search-eval";
import { type OrderBy, parseFilter, parseOrderBy, type SearchTarget } from "../search-grammar";
import type { LoggedModelRecord, ModelMetric } from "./logged-model-store";

/**
 * MLflow's logged-model search (SearchLoggedModelsUtils): `name = 'm'`, `params.<key>`,
 * `tags.<key>`, attributes model_id, model_type, status, source_run_id, creation_timestamp,
 * last_updated_timestamp, and `metrics.<key>` (the latest value measured for the model, on the
 * request's datasets when it names any: then only models with a metric on one of them match);
 * newest first unless told otherwise.
 */
export const LOGGED_MODEL_SEARCH: SearchTarget = {
  what: "runs",
  entities: ["metric", "param", "tag", "attribute"],
  attributes: {
    name: "name",
    model_id: "model_id",
    model_type: "model_type",
    status: "status",
    source_run_id: "source_run_id",
    creation_timestamp: "creation_timestamp",
    creation_time: "creation_timestamp",
    last_updated_timestamp: "last_updated_timestamp",
  },
  numericAttributes: new Set(["creation_timestamp", "last_updated_timestamp"]),
  datasetKeys: [],
};

const DEFAULT_MAX_RESULTS = 50;

type DatasetRef = { dataset_name?: string; dataset_digest?: string };
const onDataset = (d: DatasetRef, m: ModelMetric) =>
  d.dataset_name === m.dataset_name && (!d.dataset_digest || d.dataset_digest === m.dataset_digest);

/** The latest value of a metric, among those measured on one of `datasets` when any are given. */
function latestMetric(m: LoggedModelRecord, key: string, datasets: DatasetRef[]): number | undefined {
  let best: ModelMetric | undefined;
  for (const x of m.metrics) {
    if (x.key !== key || (datasets.length > 0 && !datasets.some((d) => onDataset(d, x)))) continue;
    if (!best || x.step > best.step || (x.step === best.step && x.timestamp >= best.timestamp)) best = x;
  }
  return best?.value;
}

const searchable = (
  m: LoggedModelRecord,
  datasets: DatasetRef[] = [],
): Searchable & { rec: LoggedModelRecord } => ({
  rec: m,
  metric: (k) => latestMetric(m, k, datasets),
  param: (k) => m.params[k],
  tag: (k) => m.tags[k],
  datasets: () => [],
  attribute: (k) =>
    ({
      name: m.name,
      model_id: m.modelId,
      model_type: m.modelType,
      status: m.status,
      source_run_id: m.sourceRunId,
      creation_timestamp: m.creationTime,
      last_updated_timestamp: m.lastUpdatedTime,
    })[k],
});

export function searchLoggedModelRecords(
  records: LoggedModelRecord[],
  r: SearchLoggedModelsRequest,
  scope: string[],
): { models: LoggedModelRecord[]; next_page_token?: string } {
  const clauses = parseFilter(r.filter, LOGGED_MODEL_SEARCH);
  const orderings: OrderBy[] = [
    ...parseOrderBy(
      (r.order_by ?? []).map((o) => `${o.field_name ?? ""} ${o.ascending === false ? "DESC" : "ASC"}`),
      LOGGED_MODEL_SEARCH,
    ),
    { entity: "attribute", key: "creation_timestamp", ascending: false },
  ];
  const query = JSON.stringify([scope, r.filter ?? "", r.order_by ?? [], r.datasets ?? []]);
  const offset = decodePageToken(r.page_token, query);
  const max = r.max_results ?? DEFAULT_MAX_RESULTS;
  const datasets = r.datasets ?? [];
  const byId = (a: { rec: LoggedModelRecord }, b: { rec: LoggedModelRecord }) =>
    a.rec.modelId < b.rec.modelId ? -1 : a.rec.modelId > b.rec.modelId ? 1 : 0;
  const sorted = records
    .map((m) => searchable(m, datasets))
    .filter(
      (s) =>
        matchesAll(s, clauses) &&
        (datasets.length === 0 || s.rec.metrics.some((x) => datasets.some((d) => onDataset(d, x)))),
    )
    .sort(orderComparator<Searchable & { rec: LoggedModelRecord }>(orderings, byId))
    .map((s) => s.rec);
  const next = offset + max < sorted.length ? encodePageToken(offset + max, query) : undefined;
  return { models: sorted.slice(offset, offset + max), ...(next && { next_page_token: next }) };
}
