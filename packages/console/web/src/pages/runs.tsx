import { useState } from "preact/hooks";
import { keel, useApi } from "../api";
import { href, navigate, setQuery, useLocation } from "../router";
import { runsSearch, takePrefetched } from "../runs-query";
import { ErrorBox, fmtNum, fmtTime, Page, Pager, Status } from "../ui";

export interface RunJson {
  info: {
    run_id: string;
    run_name?: string;
    experiment_id: string;
    status?: string;
    start_time?: number;
    end_time?: number;
    user_id?: string;
    artifact_uri?: string;
  };
  data?: {
    metrics?: Array<{ key: string; value: number; step?: number; timestamp?: number }>;
    params?: Array<{ key: string; value: string }>;
    tags?: Array<{ key: string; value: string }>;
  };
}

const PAGE_SIZES = [25, 50, 100, 250];
/** Page tokens seen so far, per query, so that "previous" and going back work without refetching the chain. */
const tokens = new Map<string, string[]>();

export function cell(run: RunJson, col: string): string | number | undefined {
  const [kind, ...rest] = col.split(".");
  const key = rest.join(".");
  if (kind === "metrics") return run.data?.metrics?.find((m) => m.key === key)?.value;
  if (kind === "params") return run.data?.params?.find((m) => m.key === key)?.value;
  if (kind === "tags") return run.data?.tags?.find((m) => m.key === key)?.value;
  return undefined;
}

/** Order-by text MLflow understands for a column (backticks around keys with odd characters). */
const orderKey = (col: string) => {
  const [kind, ...rest] = col.split(".");
  const key = rest.join(".");
  return /^[A-Za-z_][\w]*$/.test(key) ? `${kind}.${key}` : `${kind}.\`${key}\``;
};

/** The runs of an experiment: MLflow filter, server-side sort and paging, chosen columns, selection. */
export function RunsPage(props: { params: Record<string, string> }) {
  const id = props.params.id;
  const { query } = useLocation();
  const searchBody = runsSearch(id, query);
  const { filter } = searchBody;
  const order = searchBody.order_by[0];
  const size = searchBody.max_results;
  const page = Number(query.get("page") ?? 0);
  const chosen = query.get("cols")?.split(",").filter(Boolean);
  const [draft, setDraft] = useState(filter);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [chooser, setChooser] = useState(false);
  const exp = useApi(() => keel.call("tracking.getExperiment", { body: { experiment_id: id } }), [id]);
  const qkey = JSON.stringify([id, filter, order, size]);
  const res = useApi(async () => {
    const seen = tokens.get(qkey) ?? [""];
    tokens.set(qkey, seen);
    // A deep link to page n walks the tokens it lacks (MLflow paging has no offsets).
    let p = Math.min(page, seen.length - 1);
    let answer = await search(seen[p] || undefined);
    while (p < page && answer.next_page_token) {
      if (seen.length === p + 1) seen.push(answer.next_page_token);
      p++;
      answer = await search(seen[p] || undefined);
    }
    if (answer.next_page_token && seen.length === p + 1) seen.push(answer.next_page_token);
    return { runs: (answer.runs ?? []) as RunJson[], hasNext: !!answer.next_page_token, page: p };
    async function search(page_token?: string) {
      type Answer = { runs?: unknown[]; next_page_token?: string };
      const early = page_token ? undefined : ((await takePrefetched(searchBody)) as Answer | undefined);
      return early ?? keel.call("tracking.searchRuns", { body: { ...searchBody, page_token } });
    }
  }, [qkey, page]);
  const runs = res.data?.runs ?? [];
  const keys = (kind: "metrics" | "params" | "tags") =>
    [...new Set(runs.flatMap((r) => (r.data?.[kind] ?? []).map((m) => m.key)))]
      .filter((k) => kind !== "tags" || !k.startsWith("mlflow."))
      .sort()
      .map((k) => `${kind}.${k}`);
  const available = [...keys("metrics"), ...keys("params"), ...keys("tags")];
  const cols = chosen ?? [...keys("metrics").slice(0, 6), ...keys("params").slice(0, 4)];
  const [orderCol, orderDir] = order.split(/ (?=ASC$|DESC$)/);
  const sortBy = (col: string) => {
    const key = col === "start_time" || col === "run_name" ? `attributes.${col}` : orderKey(col);
    const dir = orderCol === key && orderDir === "DESC" ? "ASC" : "DESC";
    setQuery({ order: `${key} ${dir}`, page: undefined }, { push: true });
  };
  const sortState = (col: string) => {
    const key = col === "start_time" || col === "run_name" ? `attributes.${col}` : orderKey(col);
    return orderCol === key ? (orderDir === "DESC" ? "descending" : "ascending") : undefined;
  };
  const toggle = (runId: string) => {
    const next = new Set(selected);
    if (next.has(runId)) next.delete(runId);
    else next.add(runId);
    setSelected(next);
  };
  const ids = [...selected].join(",");
  return (
    <Page
      title={exp.data ? `Runs of ${exp.data.experiment?.name}` : "Runs"}
      actions={
        <>
          <button
            type="button"
            class="secondary"
            disabled={selected.size === 0}
            onClick={() => navigate(`/charts?runs=${ids}`)}
          >
            Chart selected
          </button>
          <button
            type="button"
            class="secondary"
            disabled={selected.size === 0}
            onClick={() => navigate(`/compare?runs=${ids}`)}
          >
            Compare selected
          </button>
        </>
      }
    >
      <form
        class="inline"
        aria-label="Filter runs"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ filter: draft.trim(), page: undefined }, { push: true });
        }}
      >
        <label style="flex: 1 1 380px">
          Filter (MLflow search syntax)
          <input
            name="filter"
            value={draft}
            placeholder="metrics.valid_auc > 0.9 and params.algorithm = 'gbdt'"
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Search</button>
        <label>
          Rows
          <select value={size} onChange={(e) => setQuery({ size: e.currentTarget.value, page: undefined })}>
            {PAGE_SIZES.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <button type="button" class="secondary" aria-expanded={chooser} onClick={() => setChooser(!chooser)}>
          Columns
        </button>
      </form>
      {chooser && (
        <fieldset class="card">
          <legend>Columns</legend>
          <div class="inline">
            {[...new Set([...available, ...cols])].map((c) => (
              <label key={c} style="display:flex;gap:4px;align-items:center;font-weight:400">
                <input
                  type="checkbox"
                  checked={cols.includes(c)}
                  onChange={() =>
                    setQuery({
                      cols: (cols.includes(c) ? cols.filter((x) => x !== c) : [...cols, c]).join(",") || ",",
                    })
                  }
                />
                {c}
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {res.error && <ErrorBox error={res.error} />}
      <p class="muted" role="status" aria-live="polite">
        {res.loading
          ? "Loading…"
          : `${runs.length} runs on page ${page + 1}${filter ? ` matching ${filter}` : ""}`}
      </p>
      <div class="table-wrap">
        <table class="grid" data-testid="runs-table">
          <caption class="sr-only">Runs</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="sr-only">Select</span>
              </th>
              <th scope="col" aria-sort={sortState("run_name")}>
                <button type="button" onClick={() => sortBy("run_name")}>
                  Run
                </button>
              </th>
              <th scope="col">Status</th>
              <th scope="col" aria-sort={sortState("start_time")}>
                <button type="button" onClick={() => sortBy("start_time")}>
                  Started
                </button>
              </th>
              {cols.map((c) => (
                <th
                  scope="col"
                  key={c}
                  aria-sort={sortState(c)}
                  class={c.startsWith("metrics.") ? "num" : ""}
                >
                  <button type="button" onClick={() => sortBy(c)} title={`Sort by ${c}`}>
                    {c.replace(/^(metrics|params|tags)\./, "")}
                    {sortState(c) === "descending" ? " ▼" : sortState(c) === "ascending" ? " ▲" : ""}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.info.run_id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${r.info.run_name ?? r.info.run_id}`}
                    checked={selected.has(r.info.run_id)}
                    onChange={() => toggle(r.info.run_id)}
                  />
                </td>
                <td>
                  <a href={href("runs", r.info.run_id)}>{r.info.run_name || r.info.run_id}</a>
                </td>
                <td>
                  <Status value={r.info.status} />
                </td>
                <td>{fmtTime(r.info.start_time)}</td>
                {cols.map((c) => (
                  <td key={c} class={c.startsWith("metrics.") ? "num" : ""}>
                    {fmtNum(cell(r, c))}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={page} hasNext={Boolean(res.data?.hasNext)} />
    </Page>
  );
}
