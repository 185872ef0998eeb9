import { useMemo } from "preact/hooks";
import { keel, useApi } from "../api";
import { LineChart, type Series, smooth } from "../chart";
import { href, setQuery, useLocation } from "../router";
import { Load, Page } from "../ui";
import type { RunJson } from "./runs";

interface Point {
  step?: number | string;
  timestamp?: number | string;
  value: number | string;
}

/** Every logged value of a metric of a run (pages of up to 100,000, all fetched). */
export async function metricHistory(runId: string, key: string): Promise<Point[]> {
  const out: Point[] = [];
  let page_token: string | undefined;
  do {
    const res = await keel.call("tracking.getMetricHistory", {
      body: { run_id: runId, metric_key: key, max_results: 100_000, page_token },
    });
    out.push(...((res.metrics ?? []) as Point[]));
    page_token = res.next_page_token || undefined;
  } while (page_token);
  return out;
}

type XAxis = "step" | "time" | "relative";

function toSeries(label: string, points: Point[], x: XAxis, weight: number): Series {
  const xs = new Float64Array(points.length);
  const ys = new Float64Array(points.length);
  const t0 = points.length ? Number(points[0].timestamp) : 0;
  const sorted = [...points].sort((a, b) =>
    x === "step" ? Number(a.step) - Number(b.step) : Number(a.timestamp) - Number(b.timestamp),
  );
  sorted.forEach((p, i) => {
    xs[i] =
      x === "step"
        ? Number(p.step ?? 0)
        : x === "time"
          ? Number(p.timestamp) / 1000
          : (Number(p.timestamp) - t0) / 1000;
    ys[i] = Number(p.value);
  });
  return { label, xs, ys: weight > 0 ? smooth(ys, weight) : ys };
}

/** Controls and charts of metrics for one or more runs; the state lives in the URL. */
export function MetricCharts(props: { runIds: string[]; names?: Record<string, string> }) {
  const { query } = useLocation();
  const x = (query.get("x") ?? "step") as XAxis;
  const log = query.get("log") === "1";
  const weight = Number(query.get("smooth") ?? 0);
  const runs = useApi(
    () => Promise.all(props.runIds.map((run_id) => keel.call("tracking.getRun", { body: { run_id } }))),
    [props.runIds.join(",")],
  );
  const keys = [
    ...new Set((runs.data ?? []).flatMap((r) => ((r.run as RunJson).data?.metrics ?? []).map((m) => m.key))),
  ].sort();
  const metric = query.get("metric") ?? keys[0];
  const history = useApi(
    async () =>
      metric
        ? Promise.all(props.runIds.map(async (id) => ({ id, points: await metricHistory(id, metric) })))
        : [],
    [props.runIds.join(","), metric],
  );
  const names = Object.fromEntries(
    (runs.data ?? []).map((r) => [(r.run as RunJson).info.run_id, (r.run as RunJson).info.run_name ?? ""]),
  );
  const series = useMemo(
    () => (history.data ?? []).map((h) => toSeries(names[h.id] || h.id.slice(0, 8), h.points, x, weight)),
    [history.data, x, weight, runs.data],
  );
  return (
    <div>
      <form class="inline" aria-label="Chart settings" onSubmit={(e) => e.preventDefault()}>
        <label>
          Metric
          <select value={metric} onChange={(e) => setQuery({ metric: e.currentTarget.value })}>
            {keys.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          X axis
          <select value={x} onChange={(e) => setQuery({ x: e.currentTarget.value })}>
            <option value="step">step</option>
            <option value="relative">relative time (s)</option>
            <option value="time">wall time</option>
          </select>
        </label>
        <label style="display:flex;gap:4px;align-items:center">
          <input type="checkbox" checked={log} onChange={() => setQuery({ log: log ? undefined : "1" })} />
          Log scale
        </label>
        <label>
          Smoothing {weight.toFixed(2)}
          <input
            type="range"
            min="0"
            max="0.99"
            step="0.01"
            value={weight}
            onChange={(e) =>
              setQuery({ smooth: e.currentTarget.value === "0" ? undefined : e.currentTarget.value })
            }
          />
        </label>
      </form>
      <Load res={history}>
        {() =>
          series.length === 0 || series.every((s) => s.xs.length === 0) ? (
            <p class="muted">No values logged for this metric.</p>
          ) : (
            <LineChart
              series={series}
              xLabel={x === "step" ? "step" : x === "time" ? "time" : "seconds"}
              time={x === "time"}
              logY={log}
              title={`${metric} by ${x}`}
            />
          )
        }
      </Load>
    </div>
  );
}

/** /charts?runs=a,b&metric=auc: several runs overlaid. */
export function ChartsPage() {
  const { query } = useLocation();
  const ids = (query.get("runs") ?? "").split(",").filter(Boolean);
  return (
    <Page title="Metric charts">
      <p>
        Runs:{" "}
        {ids.map((id, i) => (
          <span key={id}>
            {i > 0 && ", "}
            <a href={href("runs", id)}>{id.slice(0, 8)}</a>
          </span>
        ))}
      </p>
      {ids.length ? (
        <MetricCharts runIds={ids} />
      ) : (
        <p class="muted">Select runs in a runs table, then "Chart selected".</p>
      )}
    </Page>
  );
}
