import { parseArgs } from "node:util";
import { type Command, command, UsageError } from "../command";
import { createProgress } from "../progress";

/** The fields of a drift report this command prints (the API returns the whole report). */
interface DriftReportView {
  id: string;
  status: string;
  rows: number;
  window: { from: string; to: string };
  thresholds: { watch: number; drift: number };
  features: Array<{ name: string; status: string; psi: number; ks: { statistic: number; pValue: number } }>;
  retraining?: { triggered: boolean; runId?: string; error?: string };
  links: { html: string };
}

export const monitorDriftCommand = command({
  name: "monitor drift",
  summary: "run the drift job for a deployment now and print its report",
  flags: ["url", "json"],
  usage: "keel monitor drift <deployment> [--window 24h] [--url http://localhost:5000] [--latest] [--json]",
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        window: { type: "string", default: "24h" },
        latest: { type: "boolean", default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError("name exactly one deployment");
    const deployment = positionals[0];
    const http = cli.server();
    const path = `/api/v1/monitoring/deployments/${encodeURIComponent(deployment)}/drift`;
    const report = values.latest
      ? await http.get<DriftReportView>(path)
      : await createProgress(process.stderr).task(
          `drift of ${deployment} over the last ${values.window}`,
          () => http.post<DriftReportView>(path, { window: values.window }),
          (r) => `${r.status}, ${r.rows} rows`,
        );
    if (cli.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    console.log(
      `deployment ${deployment}: ${report.status.toUpperCase()} (${report.rows} rows, ${report.window.from} – ${report.window.to})`,
    );
    console.log(`PSI thresholds: watch >= ${report.thresholds.watch}, drift >= ${report.thresholds.drift}\n`);
    console.log(
      `  ${"feature".padEnd(24)} ${"status".padEnd(7)} ${"PSI".padStart(8)} ${"KS D".padStart(8)} ${"KS p".padStart(10)}`,
    );
    for (const f of report.features) {
      console.log(
        `  ${f.name.padEnd(24)} ${f.status.padEnd(7)} ${f.psi.toFixed(4).padStart(8)} ${f.ks.statistic.toFixed(4).padStart(8)} ${f.ks.pValue.toExponential(2).padStart(10)}`,
      );
    }
    if (report.retraining) {
      console.log(
        `\nretraining: ${report.retraining.triggered ? `started, pipeline run ${report.retraining.runId}` : `not started (${report.retraining.error})`}`,
      );
    }
    console.log(`\nreport: ${http.url.replace(/\/+$/, "")}${report.links.html}`);
    return 0;
  },
});

export const monitorCommands: Command[] = [monitorDriftCommand];
