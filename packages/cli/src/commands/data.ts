import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { ConsistencyReport } from "@keel/features";
import { baselineProfileSchema } from "@keel/model-format";
import { importPipelineFile, type PipelineRun, type ReproductionReport } from "@keel/pipelines";
import {
  DuckDbValidationEngine,
  type ExpectationSuite,
  evaluateSuite,
  failureSummary,
  isExpectationSuite,
  renderValidationHtml,
  type ValidationReport,
} from "@keel/validation";
import { type Command, command, UsageError } from "../command";
import { CliError } from "../failure";

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"]);

async function loadSuite(file: string, name?: string): Promise<ExpectationSuite> {
  const mod = await importPipelineFile(resolve(file));
  const suites = Object.values(mod).filter(isExpectationSuite);
  const suite = name ? suites.find((s) => s.name === name) : suites[0];
  if (!suite)
    throw new UsageError(
      name
        ? `${file} exports no suite named "${name}" (it has: ${suites.map((s) => s.name).join(", ") || "none"})`
        : `${file} exports no expectation suite (export the result of defineExpectations)`,
    );
  if (!name && suites.length > 1)
    throw new UsageError(`${file} exports ${suites.length} suites: pick one with --suite <name>`);
  return suite;
}

function printReport(r: ValidationReport): void {
  for (const x of r.results) {
    const mark = x.passed ? "✔" : x.severity === "error" ? "✖" : "!";
    console.log(`  ${mark} ${x.name.padEnd(36)} ${x.message}`);
  }
}

export const dataValidateCommand = command({
  name: "data validate",
  summary: "check a Parquet dataset against an expectation suite (JSON + HTML report; exit 1 on errors)",
  flags: ["json"],
  usage:
    "keel data validate <suite.ts> <dataset.parquet|dir|s3://...> [--suite name] [--out dir] [--offline-root dir] [--reference-profile profile.json]",
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        suite: { type: "string" },
        out: { type: "string" },
        "offline-root": { type: "string" },
        "reference-profile": { type: "string" },
      },
    });
    if (positionals.length !== 2) throw new UsageError("give a suite file and a dataset");
    const suite = await loadSuite(positionals[0], values.suite);
    const refPath = values["reference-profile"];
    const reference = refPath
      ? {
          profile: baselineProfileSchema.parse(JSON.parse(readFileSync(refPath, "utf8"))),
          label: refPath,
        }
      : undefined;
    const engine = new DuckDbValidationEngine({
      offlineRoot: values["offline-root"] ?? process.env.KEEL_OFFLINE_ROOT ?? join(".keel", "offline"),
    });
    let report: ValidationReport;
    try {
      report = await evaluateSuite(engine, suite, positionals[1], { reference });
    } catch (e) {
      throw new CliError((e as Error).message, "Check the dataset path and that it is Parquet");
    } finally {
      await engine.close();
    }
    const out = resolve(values.out ?? join(".keel", "validation", suite.name, String(report.evaluatedAt)));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "report.json"), JSON.stringify(report, null, 2));
    writeFileSync(join(out, "report.html"), renderValidationHtml(report));
    if (cli.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(failureSummary(report).split("\n")[0]);
      printReport(report);
      console.log(`report: ${join(out, "report.html")}`);
    }
    return report.passed ? 0 : 1;
  },
});

export const featuresCheckConsistencyCommand = command({
  name: "features check-consistency",
  summary:
    "compare sampled online feature values with the offline store point-in-time (training-serving skew)",
  flags: ["url", "data-dir", "json"],
  usage:
    "keel features check-consistency <view> [--sample 1000] [--seed 0] [--tolerance 1e-9] [--threshold 0] [--url ... | --data-dir ...]",
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        sample: { type: "string" },
        seed: { type: "string" },
        tolerance: { type: "string" },
        threshold: { type: "string" },
      },
    });
    if (positionals.length !== 1) throw new UsageError("give one feature view");
    const num = (k: keyof typeof values) => {
      const v = values[k];
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new UsageError(`--${k} wants a number, got "${v}"`);
      return n;
    };
    const body = Object.fromEntries(
      (["sample", "seed", "tolerance", "threshold"] as const)
        .map((k) => [k, num(k)])
        .filter(([, v]) => v !== undefined),
    );
    const conn = await cli.serverOrDataDir();
    let r: ConsistencyReport;
    try {
      r = await conn.post<ConsistencyReport>(
        `/api/v1/features/views/${encodeURIComponent(positionals[0])}/check-consistency`,
        body,
      );
    } finally {
      await conn.close();
    }
    if (cli.json) console.log(JSON.stringify(r, null, 2));
    else {
      const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
      console.log(
        `${r.view}: ${r.sampled} of ${r.entities} entities checked, ${pct(r.mismatchRate)} with a mismatch (threshold ${pct(r.threshold)} per feature)`,
      );
      console.log(`  ${"feature".padEnd(28)} missing  stale  different  rate`);
      for (const f of r.features)
        console.log(
          `  ${f.name.padEnd(28)} ${String(f.missing).padStart(7)} ${String(f.stale).padStart(6)} ${String(f.different).padStart(10)}  ${pct(f.mismatchRate)}`,
        );
      console.log(
        r.passed ? "consistent within the threshold" : "INCONSISTENT: a feature exceeds the threshold",
      );
    }
    return r.passed ? 0 : 1;
  },
});

export const pipelineReproduceCommand = command({
  name: "pipeline reproduce",
  summary:
    "re-run a pipeline run with its recorded inputs and compare metrics and model bytes (exit 1 if they differ)",
  flags: ["url", "data-dir", "json"],
  usage: "keel pipeline reproduce <run-id> [--tolerance 1e-9] [--url ... | --data-dir ...]",
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { tolerance: { type: "string" } },
    });
    if (positionals.length !== 1) throw new UsageError("give one run id");
    const conn = await cli.serverElseDataDir();
    try {
      const { run } = await conn.post<{ run: PipelineRun }>(
        `/api/v1/pipelines/runs/${encodeURIComponent(positionals[0])}/reproduce`,
        {},
      );
      if (!cli.json) console.log(`reproducing ${positionals[0]} as run ${run.runId} ...`);
      for (;;) {
        const got = await conn.get<{ run: PipelineRun }>(`/api/v1/pipelines/runs/${run.runId}`);
        if (TERMINAL.has(got.run.status)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const report = await conn.get<ReproductionReport>(
        `/api/v1/pipelines/runs/${run.runId}/reproduction`,
        values.tolerance === undefined ? {} : { tolerance: values.tolerance },
      );
      if (cli.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(report.summary);
        for (const m of report.models)
          console.log(
            `  model ${m.step}: ${m.identical ? "identical" : "DIFFERENT"} (${m.original.sha256?.slice(0, 12)} vs ${m.reproduced.sha256?.slice(0, 12)})`,
          );
        for (const m of report.metrics.filter((x) => !x.withinTolerance))
          console.log(`  metric ${m.step}.${m.key}: ${m.original} -> ${m.reproduced}`);
        for (const s of report.steps) console.log(`  step ${s.step}: ${s.original} -> ${s.reproduced}`);
        for (const d of report.differences) console.log(`  changed: ${d}`);
        for (const c of report.caveats) console.log(`  note: ${c}`);
      }
      return report.reproduced ? 0 : 1;
    } finally {
      await conn.close();
    }
  },
});

export const dataCommands: Command[] = [dataValidateCommand];
