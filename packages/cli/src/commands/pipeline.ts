import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { isKeelError } from "@keel/core";
import {
  BuiltinStepRegistry,
  compilePipeline,
  importPipelineFile,
  type PipelineRun,
  pipelinesIn,
  type StepRecord,
} from "@keel/pipelines";
import { DuckDbValidationEngine, validateStepKind } from "@keel/validation";
import type { Connection } from "../client";
import { type Command, command, UsageError } from "../command";
import { CliError } from "../failure";

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"]);
const MARK: Record<string, string> = {
  SUCCEEDED: "✔",
  CACHED: "↺",
  REUSED: "↺",
  SKIPPED: "–",
  FAILED: "✖",
  RUNNING: "…",
};

/** `--param k=v`: JSON values (numbers, booleans, arrays) are parsed, anything else stays a string. */
export function parseParams(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf("=");
    if (eq < 1) throw new UsageError(`--param wants key=value, got "${p}"`);
    const raw = p.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: a plain string value.
    }
    out[p.slice(0, eq)] = value;
  }
  return out;
}

async function importPipelines(file: string) {
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`no such file: ${file}`);
  let mod: Record<string, unknown>;
  try {
    mod = await importPipelineFile(path);
  } catch (e) {
    const at = isKeelError(e) ? (e.details as { frame?: string; line?: number } | undefined) : undefined;
    if (at?.frame) throw new CliError((e as Error).message, "Fix the file and run again", 1, at.frame);
    throw e;
  }
  const defs = pipelinesIn(mod);
  if (!defs.length) throw new UsageError(`${file} exports no pipeline (export the result of definePipeline)`);
  return defs;
}

/**
 * The pipelines a file exports, registered in process when the command runs the platform itself.
 * A running server never imports a path sent over HTTP: it must have loaded the file at start
 * (`keel dev --pipelines <file>`, or an earlier in-process run on its data dir).
 */
async function registerPipelineFile(conn: Connection, file: string, names: string[]): Promise<string[]> {
  if (conn.local) return conn.local.platform.services.pipelines.registerFile(resolve(file));
  const { pipelines } = await conn.get<{ pipelines: Array<{ name: string }> }>("/api/v1/pipelines");
  const missing = names.filter((n) => !pipelines.some((p) => p.name === n));
  if (missing.length)
    throw new CliError(
      `the Keel server at ${conn.url} has not loaded ${missing.join(", ")} from ${file}: a running server ` +
        "registers pipelines only from files it loaded at start",
      `Start it with 'keel dev --pipelines ${file}', or stop it and run this command again to run the pipeline in process on the data dir`,
      2,
    );
  return names;
}

function describeStep(s: StepRecord): string {
  const label = s.index === undefined ? s.step : `${s.step}[${s.index}]`;
  const took = s.startTime !== undefined && s.endTime !== undefined ? ` ${s.endTime - s.startTime} ms` : "";
  const tries = s.attempts > 1 ? `, ${s.attempts} attempts` : "";
  const err = s.status === "FAILED" ? `: ${s.error ?? ""} ${s.cause ?? ""}` : "";
  return `  ${MARK[s.status] ?? "?"} ${label.padEnd(24)} ${s.status}${took}${tries}${err}`;
}

/** Prints each step as its status changes until the run ends; returns the finished run. */
async function follow(http: Connection, runId: string): Promise<PipelineRun> {
  const seen = new Map<string, string>();
  for (;;) {
    const { run, steps } = await http.get<{ run: PipelineRun; steps: StepRecord[] }>(
      `/api/v1/pipelines/runs/${runId}`,
    );
    for (const s of steps) {
      const key = `${s.step}#${s.index ?? ""}`;
      if (seen.get(key) !== s.status) {
        seen.set(key, s.status);
        console.log(describeStep(s));
      }
    }
    if (TERMINAL.has(run.status)) return run;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function summary(run: PipelineRun): string {
  const took = run.endTime ? ` in ${((run.endTime - run.startTime) / 1000).toFixed(1)}s` : "";
  return `run ${run.runId} ${run.status}${took}${run.error ? ` (${run.error}: ${run.cause ?? ""})` : ""}`;
}

const isPipelineFile = (name: string | undefined): name is string =>
  Boolean(name && /\.(ts|mts|js|mjs)$/.test(name) && existsSync(name));

export const pipelineCompileCommand = command({
  name: "pipeline compile",
  summary: "compile a pipeline file to Amazon States Language (validated)",
  usage: "keel pipeline compile <file> [--pipeline <name>] [--out f.json]",
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: "string" }, pipeline: { type: "string" } },
    });
    if (positionals.length !== 1) throw new UsageError("name exactly one pipeline file");
    const defs = await importPipelines(positionals[0]);
    const def = values.pipeline ? defs.find((d) => d.name === values.pipeline) : defs[0];
    if (!def)
      throw new UsageError(
        `no pipeline "${values.pipeline}" in ${positionals[0]} (has: ${defs.map((d) => d.name).join(", ")})`,
      );
    if (!values.pipeline && defs.length > 1)
      throw new UsageError(`${positionals[0]} has ${defs.length} pipelines: choose one with --pipeline`);
    // The built-in step kinds the local platform offers (`validate`), for their config checks.
    const builtins = new BuiltinStepRegistry([validateStepKind({ engine: new DuckDbValidationEngine() })]);
    const json = `${JSON.stringify(compilePipeline(def, { builtins }).definition, null, 2)}\n`;
    if (values.out) {
      await writeFile(values.out, json);
      console.error(`wrote ${values.out} (pipeline ${def.name})`);
    } else process.stdout.write(json);
    return 0;
  },
});

export const pipelineRunCommand = command({
  name: "pipeline run",
  summary: "run a pipeline (by name or file) showing live step progress; backfill with --from/--to",
  usage:
    "keel pipeline run <name|file> [--param k=v]... [--no-cache] [--resume <runId>] [--from YYYY-MM-DD --to YYYY-MM-DD [--concurrency 2]] [--detach] [--url http://localhost:5000] [--data-dir ./.keel]",
  flags: ["url", "data-dir"],
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        param: { type: "string", multiple: true, default: [] },
        "no-cache": { type: "boolean", default: false },
        resume: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        concurrency: { type: "string", default: "2" },
        pipeline: { type: "string" },
        detach: { type: "boolean", default: false },
      },
    });
    if (!values.resume && positionals.length !== 1)
      throw new UsageError("name one pipeline (or a pipeline file)");
    if (Boolean(values.from) !== Boolean(values.to)) throw new UsageError("--from and --to go together");
    // Authoring errors are shown here, before any platform starts.
    const fileNames = isPipelineFile(positionals[0])
      ? (await importPipelines(positionals[0])).map((d) => d.name)
      : undefined;
    const conn = await cli.serverElseDataDir();
    try {
      let name = positionals[0];
      if (fileNames) {
        const pipelines = await registerPipelineFile(conn, name, fileNames);
        name = values.pipeline ?? pipelines[0];
        console.log(`registered ${pipelines.join(", ")} from ${positionals[0]}`);
      }
      if (values.from && values.to) return await backfill(conn, name, values);
      const { run } = values.resume
        ? await conn.post<{ run: PipelineRun }>(
            `/api/v1/pipelines/runs/${encodeURIComponent(values.resume)}/resume`,
            {},
          )
        : await conn.post<{ run: PipelineRun }>(`/api/v1/pipelines/${encodeURIComponent(name)}/runs`, {
            params: parseParams(values.param),
            noCache: values["no-cache"],
          });
      console.log(
        `run ${run.runId} of ${run.pipeline} started${run.resumedFrom ? ` (resuming ${run.resumedFrom})` : ""}`,
      );
      if (values.detach && !conn.local) return 0;
      const done = await follow(conn, run.runId);
      console.log(summary(done));
      return done.status === "SUCCEEDED" ? 0 : 1;
    } finally {
      await conn.close();
    }
  },
});

async function backfill(
  http: Connection,
  name: string,
  values: { from?: string; to?: string; concurrency: string; param: string[]; "no-cache": boolean },
) {
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError("--concurrency must be a positive integer");
  const since = Date.now();
  const { intervals } = await http.post<{ intervals: string[] }>(
    `/api/v1/pipelines/${encodeURIComponent(name)}/backfill`,
    {
      from: values.from,
      to: values.to,
      params: parseParams(values.param),
      concurrency,
      noCache: values["no-cache"],
    },
  );
  console.log(
    `backfilling ${name}: ${intervals.length} runs (${intervals[0]} .. ${intervals.at(-1)}), ${concurrency} at a time`,
  );
  const reported = new Set<string>();
  for (;;) {
    const { runs } = await http.get<{ runs: PipelineRun[] }>("/api/v1/pipelines/runs", {
      pipeline: name,
      limit: 500,
    });
    const ours = runs.filter(
      (r) =>
        r.trigger === "backfill" && r.startTime >= since - 1000 && intervals.includes(String(r.params.ds)),
    );
    for (const r of ours) {
      if (TERMINAL.has(r.status) && !reported.has(r.runId)) {
        reported.add(r.runId);
        console.log(`  ${MARK[r.status] ?? "?"} ds=${r.params.ds} ${summary(r)}`);
      }
    }
    if (reported.size >= intervals.length) return ours.every((r) => r.status === "SUCCEEDED") ? 0 : 1;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export const pipelineRunsCommand = command({
  name: "pipeline runs",
  summary: "list pipeline runs, newest first",
  flags: ["url", "json"],
  usage: "keel pipeline runs [--pipeline <name>] [--limit 20] [--url http://localhost:5000] [--json]",
  async run(argv, cli) {
    const { values } = parseArgs({
      args: argv,
      options: {
        pipeline: { type: "string" },
        limit: { type: "string", default: "20" },
      },
    });
    const { runs } = await cli.server().get<{ runs: PipelineRun[] }>("/api/v1/pipelines/runs", {
      pipeline: values.pipeline,
      limit: values.limit,
    });
    if (cli.json) {
      console.log(JSON.stringify(runs, null, 2));
      return 0;
    }
    console.log(
      `${"run".padEnd(34)} ${"pipeline".padEnd(20)} ${"status".padEnd(10)} ${"trigger".padEnd(9)} started`,
    );
    for (const r of runs) {
      console.log(
        `${r.runId.padEnd(34)} ${r.pipeline.padEnd(20)} ${r.status.padEnd(10)} ${r.trigger.padEnd(9)} ${new Date(r.startTime).toISOString()}`,
      );
    }
    return 0;
  },
});

export const pipelineShowCommand = command({
  name: "pipeline show",
  summary: "show a pipeline run with every step's status, attempts, times and errors",
  flags: ["url", "json"],
  usage: "keel pipeline show <runId> [--url http://localhost:5000] [--json]",
  async run(argv, cli) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals.length !== 1) throw new UsageError("name exactly one run id");
    const got = await cli
      .server()
      .get<{ run: PipelineRun; steps: StepRecord[] }>(
        `/api/v1/pipelines/runs/${encodeURIComponent(positionals[0])}`,
      );
    if (cli.json) {
      console.log(JSON.stringify(got, null, 2));
      return 0;
    }
    console.log(`${got.run.pipeline}: ${summary(got.run)}`);
    console.log(
      `  params: ${JSON.stringify(got.run.params)}  trigger: ${got.run.trigger}${got.run.trackingRunId ? `  tracking run: ${got.run.trackingRunId}` : ""}`,
    );
    for (const s of got.steps) {
      console.log(describeStep(s));
      if (s.status === "FAILED" && s.logTail) console.log(s.logTail.replace(/^/gm, "      | "));
    }
    return 0;
  },
});

export const pipelineCommands: Command[] = [
  pipelineCompileCommand,
  pipelineRunCommand,
  pipelineRunsCommand,
  pipelineShowCommand,
];
