import type { DriftReport } from "./drift-report";

const COLORS = { ok: "#2e7d32", watch: "#ed6c02", drift: "#d32f2f", no_data: "#757575" } as const;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function num(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(digits);
}

/** Bin labels from the edges: "≤ e0", "e0 – e1", ..., "> e_last". */
function binLabels(edges: number[]): string[] {
  if (edges.length === 0) return ["all"];
  return [
    `≤ ${num(edges[0], 2)}`,
    ...edges.slice(1).map((e, i) => `${num(edges[i], 2)} – ${num(e, 2)}`),
    `> ${num(edges[edges.length - 1], 2)}`,
  ];
}

/** Grouped bars per bin: training share (grey) next to the window's share (status colour). */
function chart(f: DriftReport["features"][number]): string {
  const w = 640;
  const h = 220;
  const top = 16;
  const bottom = 56;
  const left = 40;
  const bins = f.baseline.shares.length;
  const max = Math.max(...f.baseline.shares, ...f.current.shares, 0.01);
  const slot = (w - left - 8) / bins;
  const barW = Math.max(2, slot / 2 - 3);
  const y = (v: number) => top + (h - top - bottom) * (1 - v / max);
  const labels = binLabels(f.edges);
  const bars = f.baseline.shares
    .map((b, i) => {
      const x = left + i * slot + 2;
      const c = f.current.shares[i] ?? 0;
      const lx = x + slot / 2 - 2;
      return [
        `<rect x="${x.toFixed(1)}" y="${y(b).toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(0) - y(b)).toFixed(1)}" fill="#9e9e9e"><title>training ${(b * 100).toFixed(1)}%</title></rect>`,
        `<rect x="${(x + barW + 2).toFixed(1)}" y="${y(c).toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(0) - y(c)).toFixed(1)}" fill="${COLORS[f.status]}"><title>window ${(c * 100).toFixed(1)}%</title></rect>`,
        `<text x="${lx.toFixed(1)}" y="${h - bottom + 12}" font-size="9" text-anchor="end" transform="rotate(-35 ${lx.toFixed(1)} ${h - bottom + 12})">${esc(labels[i])}</text>`,
      ].join("");
    })
    .join("");
  const ticks = [0, 0.5, 1]
    .map(
      (t) =>
        `<text x="${left - 4}" y="${(y(t * max) + 3).toFixed(1)}" font-size="9" text-anchor="end">${(t * max * 100).toFixed(0)}%</text>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="${esc(f.name)} distribution"><line x1="${left}" y1="${y(0)}" x2="${w}" y2="${y(0)}" stroke="#bbb"/>${ticks}${bars}</svg>`;
}

/** The drift report as one self-contained HTML page (inline CSS and SVG, no scripts). */
export function renderDriftHtml(r: DriftReport): string {
  const badge = (s: keyof typeof COLORS) =>
    `<span class="badge" style="background:${COLORS[s]}">${s.replace("_", " ")}</span>`;
  const rows = r.features
    .map(
      (f) =>
        `<tr><td><a href="#f-${esc(f.name)}">${esc(f.name)}</a></td><td>${badge(f.status)}</td><td>${num(f.psi)}</td><td>${num(f.ks.statistic)}</td><td>${num(f.ks.pValue, 4)}</td><td>${num(f.baseline.mean)} → ${num(f.current.mean)}</td></tr>`,
    )
    .join("");
  const sections = r.features
    .map(
      (f) =>
        `<section id="f-${esc(f.name)}"><h2>${esc(f.name)} ${badge(f.status)}</h2><p>PSI ${num(f.psi)} · KS D ${num(f.ks.statistic)} (p = ${num(f.ks.pValue, 4)}) · mean ${num(f.baseline.mean)} → ${num(f.current.mean)} · std ${num(f.baseline.std)} → ${num(f.current.std)}</p>${chart(f)}<p class="legend"><span style="color:#9e9e9e">■</span> training &nbsp; <span style="color:${COLORS[f.status]}">■</span> window</p></section>`,
    )
    .join("");
  const models =
    r.models.map((m) => `${esc(m.model)} v${esc(m.version)} (${m.requests} requests)`).join(", ") || "none";
  const retrain = r.retraining
    ? `<p>Retraining: ${r.retraining.triggered ? `started (pipeline run ${esc(r.retraining.runId ?? "")})` : `not started${r.retraining.error ? `: ${esc(r.retraining.error)}` : ""}`}</p>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report: ${esc(r.deployment)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#212121}table{border-collapse:collapse}td,th{padding:.3rem .8rem;border-bottom:1px solid #e0e0e0;text-align:left}.badge{color:#fff;border-radius:.6rem;padding:.05rem .5rem;font-size:.8rem}section{margin-top:2rem}.legend{font-size:.8rem}</style>
</head><body>
<h1>Drift report: ${esc(r.deployment)} ${badge(r.status)}</h1>
<p>Window ${esc(r.window.from)} – ${esc(r.window.to)} · ${r.rows} rows${r.skippedRequests ? ` (${r.skippedRequests} requests without the baseline's features skipped)` : ""} · models: ${models}</p>
<p>PSI thresholds: watch ≥ ${r.thresholds.watch}, drift ≥ ${r.thresholds.drift}. Report ${esc(r.id)}, created ${esc(r.createdAt)}.</p>
${retrain}
${r.features.length ? `<table><thead><tr><th>feature</th><th>status</th><th>PSI</th><th>KS D</th><th>KS p</th><th>mean</th></tr></thead><tbody>${rows}</tbody></table>` : "<p>No logged rows in this window.</p>"}
${sections}
</body></html>
`;
}
