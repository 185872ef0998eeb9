import { decodePageToken, encodePageToken } from "../page-token";
import { matchesClause, orderComparator, type Searchable } from "../search-eval";
import { type Clause, type OrderBy, parseFilter, parseOrderBy, type SearchTarget } from "../search-grammar";
import { SOURCE_RUN_METADATA, TRACE_NAME_TAG } from "./trace-json";
import type { TraceRecord } from "./trace-store";

/**
 * MLflow's trace search grammar (mlflow/utils/search_utils.py SearchTraceUtils) on the shared
 * filter parser: `tags.<key>`, `metadata.<key>` (or `request_metadata.`), and attributes with
 * the `attribute.` / `trace.` prefix or none: trace_id, timestamp_ms, execution_time_ms,
 * status, name, run_id, client_request_id. Metadata rides on the parser's `param` entity.
 */
export const TRACE_SEARCH: SearchTarget = {
  what: "runs",
  entities: ["tag", "param", "attribute"],
  attributes: {
    request_id: "trace_id",
    trace_id: "trace_id",
    timestamp_ms: "timestamp_ms",
    timestamp: "timestamp_ms",
    execution_time_ms: "execution_time_ms",
    execution_time: "execution_time_ms",
    status: "status",
    state: "status",
    name: "name",
    run_id: "run_id",
    client_request_id: "client_request_id",
  },
  numericAttributes: new Set(["timestamp_ms", "execution_time_ms"]),
  datasetKeys: [],
};

const ENTITY_REWRITES: Record<string, string> = {
  trace: "attribute",
  metadata: "param",
  request_metadata: "param",
};

/** Rewrites trace-only entity prefixes (outside quoted text) to the shared parser's entities. */
function rewriteEntities(s: string): string {
  let out = "";
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      out += ch;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === "`") {
      quote = ch;
      out += ch;
      continue;
    }
    const word = /^[A-Za-z_]+(?=\.)/.exec(s.slice(i))?.[0];
    if (word && (i === 0 || !/[\w.]/.test(s[i - 1]))) {
      out += ENTITY_REWRITES[word.toLowerCase()] ?? word;
      i += word.length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

export const parseTraceFilter = (filter: string | undefined): Clause[] =>
  parseFilter(filter === undefined ? undefined : rewriteEntities(filter), TRACE_SEARCH);

const searchable = (r: TraceRecord, runId?: string): Searchable => ({
  metric: () => undefined,
  param: (k) => r.metadata[k],
  tag: (k) => r.tags[k],
  datasets: () => [],
  attribute: (k) => {
    switch (k) {
      case "trace_id":
        return r.traceId;
      case "timestamp_ms":
        return r.requestTime;
      case "execution_time_ms":
        return r.executionDuration;
      case "status":
        return r.state;
      case "name":
        return r.tags[TRACE_NAME_TAG];
      case "client_request_id":
        return r.clientRequestId;
      case "run_id":
        return runId;
      default:
        return undefined;
    }
  },
});

/** The runs a trace belongs to: its source run and the runs it was linked to. */
const runsOf = (r: TraceRecord) => [r.metadata[SOURCE_RUN_METADATA], ...r.linkedRuns].filter(Boolean);

export function traceMatches(r: TraceRecord, clauses: Clause[]): boolean {
  const s = searchable(r);
  return clauses.every((c) =>
    c.entity === "attribute" && c.key === "run_id"
      ? runsOf(r).some((id) => matchesClause(searchable(r, id), c))
      : matchesClause(s, c),
  );
}

/** Filters, orders (newest first by default) and pages traces; the token is an offset. */
export function searchTraceRecords(
  records: TraceRecord[],
  r: { filter?: string; order_by?: string[]; max_results?: number; page_token?: string },
  scope: string[],
): { traces: TraceRecord[]; next_page_token?: string } {
  const clauses = parseTraceFilter(r.filter);
  const orderings: OrderBy[] = [
    ...parseOrderBy(r.order_by ? r.order_by.map(rewriteEntities) : undefined, TRACE_SEARCH),
    { entity: "attribute", key: "timestamp_ms", ascending: false },
  ];
  const query = JSON.stringify([scope, r.filter ?? "", r.order_by ?? []]);
  const offset = decodePageToken(r.page_token, query);
  const max = r.max_results ?? 100;
  const tie = (a: TraceRecord, b: TraceRecord) =>
    a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0;
  const cmp = orderComparator<Searchable & { rec: TraceRecord }>(orderings, (a, b) => tie(a.rec, b.rec));
  const sorted = records
    .filter((t) => traceMatches(t, clauses))
    .map((rec) => ({ ...searchable(rec), rec }))
    .sort(cmp)
    .map((s) => s.rec);
  const pageItems = sorted.slice(offset, offset + max);
  const next = offset + max < sorted.length ? encodePageToken(offset + max, query) : undefined;
  return { traces: pageItems, ...(next && { next_page_token: next }) };
}
