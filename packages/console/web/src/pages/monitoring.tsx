import { useState } from "preact/hooks";
import { errorText, keel, useApi } from "../api";
import { BarChart } from "../chart";
import { href, setQuery, useLocation } from "../router";
import { ErrorBox, fmtNum, fmtTime, Load, Page, Section, Status, Table } from "../ui";

export function MonitoringPage() {
  const res = useApi(async () => {
    const deployments = await keel.call("deployments.list");
    return Promise.all(
      (deployments.deployments as Array<{ name: string }>).map(async (d) => {
        try {
          return {
            name: d.name,
            report: await keel.call("monitoring.latestDrift", { params: { deployment: d.name } }),
          };
        } catch {
          return { name: d.name, report: undefined };
        }
      }),
    );
  }, []);
  return (
    <Page title="Monitoring">
      <Load res={res}>
        {(rows) => (
          <Table
            caption="Latest drift per deployment"
            rows={rows}
            rowKey={(r) => r.name}
            columns={[
              { label: "Deployment", cell: (r) => <a href={href("monitoring", r.name)}>{r.name}</a> },
              {
                label: "Status",
                cell: (r) =>
                  r.report ? <Status value={r.report.status} /> : <span class="muted">no report</span>,
              },
              { label: "Rows", cell: (r) => r.report?.rows ?? "—" },
              {
                label: "Report time",
                cell: (r) => (r.report ? new Date(r.report.createdAt).toLocaleString() : "—"),
              },
              {
                label: "Drifting features",
                cell: (r) =>
                  r.report?.features
                    .filter((f) => f.status === "drift")
                    .map((f) => f.name)
                    .join(", ") || "—",
              },
            ]}
          />
        )}
      </Load>
    </Page>
  );
}

export function DriftPage(props: { params: Record<string, string> }) {
  const deployment = props.params.deployment;
  const chosen = useLocation().query.get("report") ?? undefined;
  // ?report=<id> opens a past report from the history; without it, the latest one.
  const res = useApi(
    async () =>
      chosen
        ? {
            ...(await keel.call("monitoring.getReport", { params: { file: `${chosen}.json` } })),
            links: {
              html: `/api/v1/monitoring/reports/${chosen}.html`,
              json: `/api/v1/monitoring/reports/${chosen}.json`,
            },
          }
        : keel.call("monitoring.latestDrift", { params: { deployment } }),
    [deployment, chosen],
  );
  const history = useApi(
    () => keel.call("monitoring.listReports", { params: { deployment }, query: { limit: 20 } }),
    [deployment],
  );
  const [window, setWindow] = useState("");
  const [error, setError] = useState<string>();
  const run = async () => {
    setError(undefined);
    try {
      await keel.call("monitoring.runDrift", { params: { deployment }, body: window ? { window } : {} });
      history.reload();
      if (chosen) setQuery({ report: undefined }, { push: true });
      else res.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <Page title={`Drift of ${deployment}`}>
      <form
        class="inline"
        aria-label="Run the drift job"
        onSubmit={(e) => {
          e.preventDefault();
          run();
        }}
      >
        <label>
          Window
          <input
            value={window}
            placeholder="24h, 7d (default: configured)"
            onInput={(e) => setWindow(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Compute drift now</button>
        <a href={href("deployments", deployment)}>Deployment</a>
      </form>
      {error && <ErrorBox error={new Error(error)} />}
      <Load res={res}>
        {(r) => (
          <>
            <p data-report={r.id}>
              <Status value={r.status} /> over {r.rows.toLocaleString()} rows,{" "}
              {new Date(r.window.from).toLocaleString()} → {new Date(r.window.to).toLocaleString()} ·
              thresholds PSI watch {r.thresholds.watch}, drift {r.thresholds.drift} ·{" "}
              <a href={r.links.html} data-external>
                HTML report
              </a>
            </p>
            <div class="table-wrap">
              <table class="grid">
                <caption class="sr-only">Drift per feature</caption>
                <thead>
                  <tr>
                    <th scope="col">Feature</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="num">
                      PSI
                    </th>
                    <th scope="col" class="num">
                      KS
                    </th>
                    <th scope="col" class="num">
                      KS p-value
                    </th>
                    <th scope="col" class="num">
                      Mean (baseline → current)
                    </th>
                    <th scope="col" class="num">
                      Missing
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {r.features.map((f) => (
                    <tr key={f.name}>
                      <th scope="row">{f.name}</th>
                      <td>
                        <Status value={f.status} />
                      </td>
                      <td class="num">{fmtNum(f.psi)}</td>
                      <td class="num">{fmtNum(f.ks.statistic)}</td>
                      <td class="num">{f.ks.pValue.toExponential(2)}</td>
                      <td class="num">
                        {fmtNum(f.baseline.mean)} → {fmtNum(f.current.mean)}
                      </td>
                      <td class="num">{f.missing}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div class="cards" style="margin-top:16px">
              {r.features.map((f) => {
                const labels = f.baseline.shares.map((_, i) =>
                  i === 0
                    ? `<${fmtNum(f.edges[0])}`
                    : i >= f.edges.length
                      ? `≥${fmtNum(f.edges[f.edges.length - 1])}`
                      : `${fmtNum(f.edges[i - 1])}–${fmtNum(f.edges[i])}`,
                );
                return (
                  <Section key={f.name} title={`${f.name} (PSI ${fmtNum(f.psi)})`}>
                    <BarChart
                      labels={labels}
                      series={[
                        { label: "baseline", xs: [], ys: f.baseline.shares },
                        { label: "current", xs: [], ys: f.current.shares },
                      ]}
                      title={`Histogram of ${f.name}: baseline vs current shares`}
                    />
                  </Section>
                );
              })}
            </div>
          </>
        )}
      </Load>
      <Section title="History">
        <Load res={history}>
          {(h) => (
            <table class="grid" aria-label="Drift report history">
              <thead>
                <tr>
                  <th scope="col">Computed</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Rows
                  </th>
                </tr>
              </thead>
              <tbody>
                {h.reports.map((r) => (
                  <tr
                    key={r.id}
                    data-history={r.id}
                    aria-current={r.id === res.data?.id ? "true" : undefined}
                  >
                    <td>
                      <a href={`${href("monitoring", deployment)}?report=${encodeURIComponent(r.id)}`}>
                        {fmtTime(r.createdAt)}
                      </a>
                    </td>
                    <td>
                      <Status value={r.status} />
                    </td>
                    <td class="num">{r.rows.toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Load>
      </Section>
    </Page>
  );
}
