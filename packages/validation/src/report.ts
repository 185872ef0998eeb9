import type { ValidationReport } from "./evaluate";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const observed = (o: Record<string, number | string | null>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toPrecision(4) : v}`)
    .join(", ");

/** The report as a self-contained HTML page (no scripts, no external resources). */
export function renderValidationHtml(r: ValidationReport): string {
  const rows = r.results
    .map((x) => {
      const status = x.passed ? "pass" : x.severity === "error" ? "FAIL" : "warn";
      const color = x.passed ? "#2e7d32" : x.severity === "error" ? "#d32f2f" : "#ed6c02";
      return `<tr><td style="color:${color};font-weight:bold">${status}</td><td>${esc(x.name)}</td><td>${esc(x.kind)}</td><td>${x.severity}</td><td>${esc(x.message)}</td><td><code>${esc(observed(x.observed))}</code></td></tr>`;
    })
    .join("\n");
  const verdict = r.passed ? "passed" : "FAILED";
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Validation ${esc(r.suite)}: ${verdict}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}</style>
</head><body>
<h1>Validation of ${esc(r.dataset)}: ${verdict}</h1>
<p>Suite <b>${esc(r.suite)}</b>, ${r.rows} rows, ${r.errors} error(s), ${r.warnings} warning(s), evaluated ${new Date(r.evaluatedAt).toISOString()} in ${r.durationMs} ms (${r.scans} scan(s))${r.reference ? `; reference: ${esc(r.reference)}` : ""}.</p>
<table><tr><th>Status</th><th>Expectation</th><th>Kind</th><th>Severity</th><th>Result</th><th>Observed</th></tr>
${rows}
</table></body></html>
`;
}

/** MLflow metric keys may hold letters, digits, _ - . space and /. */
const metricKey = (s: string) => s.replace(/[^A-Za-z0-9_\-. /]/g, "_");

/** The report as run metrics: the totals, and per expectation whether it passed and its main figure. */
export function validationMetrics(r: ValidationReport): Record<string, number> {
  const m: Record<string, number> = {
    "validation.passed": r.passed ? 1 : 0,
    "validation.errors": r.errors,
    "validation.warnings": r.warnings,
    "validation.rows": r.rows,
    "validation.duration_ms": r.durationMs,
  };
  for (const x of r.results) {
    m[metricKey(`check.${x.name}.passed`)] = x.passed ? 1 : 0;
    for (const [k, v] of Object.entries(x.observed))
      if (typeof v === "number" && Number.isFinite(v)) m[metricKey(`check.${x.name}.${k}`)] = v;
  }
  return m;
}

/** A one-line summary tag (for a model version's lineage): "passed 12/12" or "failed: 2 errors, 1 warning". */
export function validationSummary(
  r: Pick<ValidationReport, "passed" | "errors" | "warnings" | "results">,
): string {
  return r.passed
    ? `passed ${r.results.length - r.warnings}/${r.results.length}${r.warnings ? `, ${r.warnings} warning(s)` : ""}`
    : `failed: ${r.errors} error(s), ${r.warnings} warning(s)`;
}
