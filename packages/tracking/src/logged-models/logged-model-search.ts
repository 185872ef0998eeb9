import type { SearchLoggedModelsRequest } from "@keel/contract";
import { decodePageToken, encodePageToken } from "../page-token";
import { matchesAll, orderComparator, type Searchable } from "../search-eval";
import { type OrderBy, parseFilter, parseOrderBy, type SearchTarget } from "../search-grammar";
import type { LoggedModelRecord } from "./logged-model-store";

/**
 * MLflow's logged-model search (SearchLoggedModelsUtils): `name = 'm'`, `params.<key>`,
 * `tags.<key>`, attributes model_id, model_type, status, source_run_id, creation_timestamp,
 * last_updated_timestamp; newest first unless told otherwise. Keel does not link metrics to
 * logged models yet, so a `metrics.` clause or a dataset restriction matches no model.
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

const searchable = (m: LoggedModelRecord): Searchable & { rec: LoggedModelRecord } => ({
  rec: m,
  metric: () => undefined,
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
  const byId = (a: { rec: LoggedModelRecord }, b: { rec: LoggedModelRecord }) =>
    a.rec.modelId < b.rec.modelId ? -1 : a.rec.modelId > b.rec.modelId ? 1 : 0;
  const sorted = records
    .map(searchable)
    .filter((s) => matchesAll(s, clauses) && !(r.datasets && r.datasets.length > 0))
    .sort(orderComparator<Searchable & { rec: LoggedModelRecord }>(orderings, byId))
    .map((s) => s.rec);
  const next = offset + max < sorted.length ? encodePageToken(offset + max, query) : undefined;
  return { models: sorted.slice(offset, offset + max), ...(next && { next_page_token: next }) };
}
