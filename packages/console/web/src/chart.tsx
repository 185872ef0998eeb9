import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const COLORS = ["#0b5cad", "#d1242f", "#1a7f37", "#8250df", "#bc4c00", "#0550ae", "#bf3989", "#4d2d00"];
export const color = (i: number) => COLORS[i % COLORS.length];

export interface Series {
  label: string;
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
}

/** Exponential moving average (TensorBoard's smoothing), weight 0..0.99. */
export function smooth(ys: ArrayLike<number>, weight: number): Float64Array {
  const out = new Float64Array(ys.length);
  let last = ys.length ? ys[0] : 0;
  for (let i = 0; i < ys.length; i++) {
    last = last * weight + (1 - weight) * ys[i];
    out[i] = last;
  }
  return out;
}

/** One x array for several series (uPlot's aligned data): the sorted union, gaps as null. */
function align(series: Series[]): uPlot.AlignedData {
  if (series.length === 1) return [series[0].xs as number[], series[0].ys as number[]];
  const all = new Float64Array(series.reduce((n, s) => n + s.xs.length, 0));
  let k = 0;
  for (const s of series) for (let i = 0; i < s.xs.length; i++) all[k++] = s.xs[i];
  all.sort();
  const xs: number[] = [];
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) xs.push(all[i]);
  const index = new Map(xs.map((x, i) => [x, i]));
  const cols = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    for (let i = 0; i < s.xs.length; i++) col[index.get(s.xs[i]) as number] = s.ys[i];
    return col;
  });
  return [xs, ...cols];
}

/**
 * A line chart of one or more series with uPlot (canvas, fast at 100,000 points): x as step,
 * seconds or time, y linear or log.
 */
export function LineChart(props: {
  series: Series[];
  xLabel: string;
  time?: boolean;
  logY?: boolean;
  height?: number;
  title: string;
  /** Named x positions 0..n-1 (parallel coordinates: one axis per name). */
  xNames?: string[];
}) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host || props.series.length === 0) return;
    const width = Math.max(300, host.clientWidth);
    const started = performance.now();
    const plot = new uPlot(
      {
        width,
        height: props.height ?? 320,
        scales: { x: { time: !!props.time }, y: { distr: props.logY ? 3 : 1 } },
        axes: [
          props.xNames
            ? {
                label: props.xLabel,
                splits: () => (props.xNames ?? []).map((_, i) => i),
                values: (_u: uPlot, splits: number[]) => splits.map((i) => props.xNames?.[i] ?? ""),
                grid: { show: true, stroke: "#888", width: 1 },
              }
            : { label: props.xLabel },
          {},
        ],
        series: [
          { label: props.xLabel },
          ...props.series.map((s, i) => ({
            label: s.label,
            stroke: color(i),
            width: 1.5,
            spanGaps: true,
            points: { show: false },
          })),
        ],
      },
      align(props.series),
      host,
    );
    // What the plot holds, for the browser tests: its series (by label) and their point counts.
    host.dataset.series = JSON.stringify(
      plot.series
        .slice(1)
        .map((s, i) => [s.label, (plot.data[i + 1] as unknown[]).filter((y) => y != null).length]),
    );
    // How long aligning and drawing took (read by the browser tests and for the README's figures).
    requestAnimationFrame(() => {
      host.dataset.renderMs = String(Math.round(performance.now() - started));
    });
    const onResize = () =>
      plot.setSize({ width: Math.max(300, host.clientWidth), height: props.height ?? 320 });
    window.addEventListener("resize", onResize);
    return () => {
      window.removeEventListener("resize", onResize);
      plot.destroy();
    };
  }, [props.series, props.logY, props.time, props.xLabel, props.height, props.xNames]);
  return (
    <div
      class="chart"
      ref={el}
      role="img"
      aria-label={props.title}
      data-points={props.series.reduce((n, s) => n + s.xs.length, 0)}
    />
  );
}

/** A scatter of points (x, y), one series per group, with uPlot's non-aligned mode. */
export function ScatterChart(props: { series: Series[]; xLabel: string; yLabel: string; title: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const plot = new uPlot(
      {
        mode: 2,
        width: Math.max(300, host.clientWidth),
        height: 340,
        scales: { x: { time: false } },
        axes: [{ label: props.xLabel }, { label: props.yLabel }],
        series: [
          {},
          ...props.series.map((s, i) => ({
            label: s.label,
            stroke: color(i),
            fill: color(i),
            paths: () => null,
            points: { show: true, size: 8 },
          })),
        ],
      },
      [
        null,
        ...props.series.map((s) => [Array.from(s.xs), Array.from(s.ys)]),
      ] as unknown as uPlot.AlignedData,
      host,
    );
    // The points the plot holds, for the browser tests: per series [xs, ys].
    host.dataset.xy = JSON.stringify(plot.data.slice(1));
    return () => plot.destroy();
  }, [props.series, props.xLabel, props.yLabel]);
  return <div class="chart" ref={el} role="img" aria-label={props.title} />;
}

/** Grouped bars (e.g. a histogram's baseline vs current shares per bin). */
export function BarChart(props: { labels: string[]; series: Series[]; title: string; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const n = props.series.length;
    const bars = uPlot.paths.bars as NonNullable<typeof uPlot.paths.bars>;
    const plot = new uPlot(
      {
        width: Math.max(280, host.clientWidth),
        height: props.height ?? 200,
        scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } },
        axes: [{ values: (_u, ticks) => ticks.map((t) => props.labels[t] ?? "") }, {}],
        series: [
          {},
          ...props.series.map((s, i) => ({
            label: s.label,
            stroke: color(i),
            fill: `${color(i)}99`,
            // Two series sit side by side: the first left of each bin, the second right.
            paths: bars({ size: [n > 1 ? 0.4 : 0.8, 80], align: n > 1 ? (i === 0 ? -1 : 1) : 0 }),
            points: { show: false },
          })),
        ],
      },
      [props.labels.map((_, i) => i), ...props.series.map((s) => Array.from(s.ys))],
      host,
    );
    return () => plot.destroy();
  }, [props.series, props.labels]);
  return <div class="chart" ref={el} role="img" aria-label={props.title} />;
}
