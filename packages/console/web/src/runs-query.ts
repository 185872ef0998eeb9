import { authHeaders } from "./session";

/**
 * The runs table's search (MLflow `runs/search`) as its URL says it: one place for the defaults,
 * read by the page and by the prefetch that starts it before the app's code has loaded.
 */
export function runsSearch(experimentId: string, query: URLSearchParams) {
  return {
    experiment_ids: [experimentId],
    filter: query.get("filter") ?? "",
    order_by: [query.get("order") ?? "attributes.start_time DESC"],
    max_results: Number(query.get("size") ?? 50),
  };
}
export type RunsSearch = ReturnType<typeof runsSearch>;

/** The contract's `tracking.searchRuns` (an MLflow GET: the request's fields in the query string). */
export const RUNS_SEARCH_PATH = "/api/2.0/mlflow/runs/search";

let early: { key: string; answer: Promise<unknown> } | undefined;

/**
 * Starts the first page of the runs table now, if this URL is a runs table: the request then runs
 * while the browser is still parsing the app (about as long as the search itself). Any failure
 * answers undefined and the page asks again through the typed client, which reports errors.
 */
export function prefetchRuns(): void {
  const m = location.pathname.match(/^\/experiments\/([^/]+)$/);
  const query = new URLSearchParams(location.search);
  if (!m || Number(query.get("page") ?? 0) !== 0) return;
  const body = runsSearch(decodeURIComponent(m[1]), query);
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) for (const item of [v].flat()) qs.append(k, String(item));
  early = {
    key: JSON.stringify(body),
    answer: fetch(`${RUNS_SEARCH_PATH}?${qs}`, { headers: authHeaders() })
      .then((r) => (r.ok ? r.json() : undefined))
      .catch(() => undefined),
  };
}

/** The prefetched first page for exactly this search, once (later pages and reloads ask the server). */
export function takePrefetched(body: RunsSearch): Promise<unknown> | undefined {
  if (!early || early.key !== JSON.stringify(body)) return undefined;
  const { answer } = early;
  early = undefined;
  return answer;
}
