import { keel, useApi } from "../api";
import { LineChart, ScatterChart } from "../chart";
import { href, setQuery, useLocation } from "../router";
import { fmtNum, Load, Page } from "../ui";
import { cell, type RunJson } from "./runs";

/** /compare?runs=a,b,c: a param (or metric) against a metric across runs, and their values side by side. */
export function ComparePage() {
  const { query } = useLocation();
  const ids = (query.get("runs") ?? "").split(",").filter(Boolean);
  const res = useApi(
    () =>
      Promise.all(
        ids.map(async (run_id) => (await keel.call("tracking.getRun", { body: { run_id } })).run as RunJson),
      ),
    [ids.join(",")],
  );
  return (
    <Page title="Compare runs">
      <Load res={res}>
        {(runs) => {
          const cols = [
            ...new Set(
              runs.flatMap((r) => [
                ...(r.data?.params ?? []).map((p) => `params.${p.key}`),
                ...(r.data?.metrics ?? []).map((m) => `metrics.${m.key}`),
              ]),
            ),
          ].sort();
          const metrics = cols.filter((c) => c.startsWith("metrics."));
          const xCol = query.get("x") ?? cols.find((c) => c.startsWith("params.")) ?? cols[0];
          const yCol = query.get("y") ?? metrics[0];
          const points = runs
            .map((r) => ({ r, x: Number(cell(r, xCol)), y: Number(cell(r, yCol)) }))
            .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
          return (
            <>
              <form class="inline" aria-label="Axes" onSubmit={(e) => e.preventDefault()}>
                <label>
                  X
                  <select value={xCol} onChange={(e) => setQuery({ x: e.currentTarget.value })}>
                    {cols.map((c) => (
                      <option key={c}>{c}</option>
                    ))}
                  </select>
                </label>
                <label>
                  Y
                  <select value={yCol} onChange={(e) => setQuery({ y: e.currentTarget.value })}>
                    {metrics.map((c) => (
                      <option key={c}>{c}</option>
                    ))}
                  </select>
                </label>
              </form>
              {points.length ? (
                <ScatterChart
                  series={[
                    { label: `${yCol} vs ${xCol}`, xs: points.map((p) => p.x), ys: points.map((p) => p.y) },
                  ]}
                  xLabel={xCol}
                  yLabel={yCol}
                  title={`${yCol} against ${xCol}`}
                />
              ) : (
                <p class="muted">No run has numeric values for both axes.</p>
              )}
              <ParallelCoordinates runs={runs} cols={cols} />
              <div class="table-wrap">
                <table class="grid">
                  <caption class="sr-only">Values of the compared runs</caption>
                  <thead>
                    <tr>
                      <th scope="col">Key</th>
                      {runs.map((r) => (
                        <th scope="col" key={r.info.run_id}>
                          <a href={href("runs", r.info.run_id)}>
                            {r.info.run_name || r.info.run_id.slice(0, 8)}
                          </a>
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {cols.map((c) => {
                      const vals = runs.map((r) => cell(r, c));
                      const differs = new Set(vals.map(String)).size > 1;
                      return (
                        <tr key={c} style={differs ? "font-weight:600" : ""}>
                          <th scope="row">{c}</th>
                          {vals.map((v, i) => (
                            <td key={runs[i].info.run_id}>{fmtNum(typeof v === "string" ? v : v)}</td>
                          ))}
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            </>
          );
        }}
      </Load>
    </Page>
  );
}

/**
 * Parallel coordinates: one vertical axis per numeric param or metric, one line per run, each
 * axis scaled to its own min..max (0 at the bottom, 1 at the top), drawn with uPlot.
 */
function ParallelCoordinates(props: { runs: RunJson[]; cols: string[] }) {
  const axes = props.cols.filter((c) =>
    props.runs.every((r) => {
      const v = cell(r, c);
      return v !== undefined && v !== "" && Number.isFinite(Number(v));
    }),
  );
  if (axes.length < 2) return null;
  const ranges = axes.map((c) => {
    const vals = props.runs.map((r) => Number(cell(r, c)));
    return [Math.min(...vals), Math.max(...vals)] as const;
  });
  const series = props.runs.map((r) => ({
    label: r.info.run_name || r.info.run_id.slice(0, 8),
    xs: axes.map((_, i) => i),
    ys: axes.map((c, i) => {
      const [lo, hi] = ranges[i];
      return hi > lo ? (Number(cell(r, c)) - lo) / (hi - lo) : 0.5;
    }),
  }));
  return (
    <section aria-label="Parallel coordinates" data-axes={JSON.stringify(axes)}>
      <h2>Parallel coordinates</h2>
      <p class="muted">
        Each axis runs from its lowest value across these runs (bottom) to its highest (top).
      </p>
      <LineChart series={series} xLabel="" xNames={axes} title="Parallel coordinates of the compared runs" />
    </section>
  );
}
