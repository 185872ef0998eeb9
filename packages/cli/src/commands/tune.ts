import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { TuningExperimentJson, TuningTrialJson } from "@keel/contract";
import { importPipelineFile } from "@keel/pipelines";
import { tuningsIn } from "@keel/tuning";
import type { Connection } from "../client";
import { type Command, command, UsageError } from "../command";
import { CliError } from "../failure";
import { printTable } from "../table";

/** `keel tune run|show|stop|resume`: hyperparameter tuning experiments, with a live table of trials. */
const API = "/api/v1/tuning";
const MARK: Record<string, string> = {
  COMPLETED: "✔",
  EARLY_STOPPED: "✂",
  FAILED: "✖",
  STOPPED: "■",
  RUNNING: "…",
  PENDING: "·",
};

const isFile = (arg: string) => /\.(ts|mts|js|mjs)$/.test(arg);

/** The tuning names a file exports (checked here, before any platform starts). */
async function namesIn(file: string): Promise<string[]> {
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`no such file: ${file}`);
  const names = tuningsIn(await importPipelineFile(path)).map((d) => d.spec.name);
  if (!names.length) throw new UsageError(`${file} exports no tuning (export the result of defineTuning)`);
  return names;
}

/**
 * The tuning a positional names, registered in process when this command runs the platform
 * itself; a running server must have loaded it (it never imports a path sent over HTTP).
 */
async function resolveTuning(conn: Connection, arg: string, pick?: string): Promise<string> {
  if (!isFile(arg)) return arg;
  const names = await namesIn(arg);
  const name = pick ?? names[0];
  if (!names.includes(name)) throw new UsageError(`no tuning "${pick}" in ${arg} (has: ${names.join(", ")})`);
  if (!pick && names.length > 1)
    throw new UsageError(`${arg} has ${names.length} tunings: choose one with --tuning`);
  if (conn.local) {
    await conn.local.platform.services.tuning.registerFile(resolve(arg));
    return name;
  }
  const { tunings } = await conn.get<{ tunings: Array<{ name: string }> }>(`${API}/definitions`);
  if (!tunings.some((t) => t.name === name))
    throw new CliError(
      `the Keel server at ${conn.url} has not loaded tuning "${name}" from ${arg}: a server never imports a ` +
        "file named over HTTP",
      `Start it with 'keel dev --tunings ${arg}' (or export the tuning from the project), or stop it and run 'keel tune run ${arg}' in process on the data dir`,
      2,
    );
  return name;
}

const fmt = (v: unknown) =>
  typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v);

function rows(trials: TuningTrialJson[]): string[][] {
  return trials.map((t) => [
    String(t.number),
    `${MARK[t.status] ?? "?"} ${t.status}`,
    t.value === undefined ? "-" : fmt(t.value),
    t.curve.length ? String(t.curve.at(-1)![0]) : "-",
    String(t.attempts),
    Object.entries(t.params)
      .map(([k, v]) => `${k}=${fmt(v)}`)
      .join(" "),
  ]);
}

const HEADER = ["trial", "status", "value", "step", "tries", "params"];

function headline(e: TuningExperimentJson): string {
  const spec = e.spec as TuningExperimentJson["spec"] & {
    algorithm?: { name: string };
    objective?: { metric: string; goal: string };
  };
  const best = e.best ? `best ${fmt(e.best.value)} (trial ${e.best.number})` : "no best yet";
  return `${e.name}: ${e.status}  ${spec.algorithm?.name ?? ""} ${spec.objective?.goal ?? ""} ${spec.objective?.metric ?? ""}  ${best}`;
}

function printExperiment(e: TuningExperimentJson, trials: TuningTrialJson[]): void {
  console.log(headline(e));
  printTable(HEADER, rows(trials));
  const counts: Record<string, number> = {};
  for (const t of trials) counts[t.status] = (counts[t.status] ?? 0) + 1;
  console.log(
    `${trials.length} trials: ${Object.entries(counts)
      .map(([s, n]) => `${n} ${s.toLowerCase()}`)
      .join(", ")}`,
  );
  if (e.best) console.log(`best params: ${JSON.stringify(e.best.params)}`);
  if (e.trackingRunId) console.log(`tuning run: ${e.trackingRunId} (trials are its nested runs)`);
  if (e.registered) console.log(`registered: ${e.registered.model} v${e.registered.version}`);
  if (e.error) console.log(`error: ${e.error}`);
}

/** Draws the trials table: redrawn in place on a TTY, a line per trial status change elsewhere. */
function tableDrawer(): (e: TuningExperimentJson, trials: TuningTrialJson[]) => void {
  const tty = Boolean(process.stdout.isTTY);
  let drawn = 0;
  const seen = new Map<number, string>();
  return (experiment, trials) => {
    if (tty) {
      const lines: string[] = [headline(experiment)];
      printTable(HEADER, rows(trials), (l) => lines.push(l));
      if (drawn) process.stdout.write(`\x1b[${drawn}A`);
      process.stdout.write(lines.map((l) => `\x1b[2K${l}\n`).join(""));
      drawn = lines.length;
      return;
    }
    for (const t of trials) {
      if (seen.get(t.number) === t.status) continue;
      seen.set(t.number, t.status);
      const detail =
        t.status === "EARLY_STOPPED"
          ? ` at step ${t.stoppedAt}`
          : t.value === undefined
            ? ""
            : ` ${fmt(t.value)}`;
      console.log(`  ${MARK[t.status] ?? "?"} trial ${t.number} ${t.status}${detail}`);
    }
  };
}

const experimentPath = (name: string) => `${API}/experiments/${encodeURIComponent(name)}`;

/**
 * Runs (or resumes) the experiment to its end and prints the final table. In process, the
 * controller runs here and the table is drawn from its own updates (built-in trainer trials train
 * in worker threads); against a server, the experiment is started there and polled.
 */
async function runAndWatch(
  conn: Connection,
  name: string,
  resume: boolean,
  detach: boolean,
): Promise<number> {
  const draw = tableDrawer();
  if (conn.local) {
    console.log(`tuning ${name} ${resume ? "resumed" : "started"} (in process)`);
    await conn.local.platform.services.tuning.run(name, {
      resume,
      onChange: (e, t) => draw(e as unknown as TuningExperimentJson, t as TuningTrialJson[]),
    });
  } else {
    await conn.post(resume ? `${experimentPath(name)}/resume` : `${API}/experiments`, resume ? {} : { name });
    console.log(`tuning ${name} ${resume ? "resumed" : "started"} on ${conn.url}`);
    if (detach) return 0;
    for (;;) {
      const { experiment, trials } = await conn.get<{
        experiment: TuningExperimentJson;
        trials: TuningTrialJson[];
      }>(experimentPath(name));
      draw(experiment, trials);
      if (experiment.status !== "RUNNING") break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const { experiment, trials } = await conn.get<{
    experiment: TuningExperimentJson;
    trials: TuningTrialJson[];
  }>(experimentPath(name));
  console.log("");
  printExperiment(experiment, trials);
  return experiment.status === "SUCCEEDED" ? 0 : 1;
}

/** The one tuning (a file or a name) a `keel tune` subcommand names, its --tuning pick, and --detach where allowed. */
function tuningArgs(argv: string[], detachable: boolean) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: detachable
      ? { tuning: { type: "string" }, detach: { type: "boolean", default: false } }
      : { tuning: { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("name one tuning file or tuning name");
  return {
    target: positionals[0],
    pick: values.tuning as string | undefined,
    detach: values.detach === true,
  };
}

/** Runs `work` on a connection and always closes it. */
async function closing<T>(conn: Connection, work: (conn: Connection) => Promise<T>): Promise<T> {
  try {
    return await work(conn);
  } finally {
    await conn.close();
  }
}

export const tuneRunCommand = command({
  name: "tune run",
  summary: "run a tuning experiment (file or loaded name) with a live table of its trials",
  usage:
    "keel tune run <file|name> [--tuning <name>] [--detach] [--url http://localhost:5000] [--data-dir ./.keel]",
  flags: ["url", "data-dir"],
  async run(argv, cli) {
    const { target, pick, detach } = tuningArgs(argv, true);
    if (isFile(target)) await namesIn(target);
    return closing(await cli.serverElseDataDir(), async (conn) =>
      runAndWatch(conn, await resolveTuning(conn, target, pick), false, detach),
    );
  },
});

export const tuneResumeCommand = command({
  name: "tune resume",
  summary: "resume a stopped or interrupted tuning experiment from its recorded trials",
  usage: "keel tune resume <file|name> [--tuning <name>] [--detach] [--url ...] [--data-dir ./.keel]",
  flags: ["url", "data-dir"],
  async run(argv, cli) {
    const { target, pick, detach } = tuningArgs(argv, true);
    return closing(await cli.serverElseDataDir(), async (conn) => {
      const name = await resolveTuning(conn, target, pick);
      if (conn.local) {
        const { experiment } = await conn.get<{ experiment: TuningExperimentJson }>(experimentPath(name));
        if (experiment.status === "SUCCEEDED")
          throw new CliError(
            `tuning experiment "${name}" has finished`,
            "Nothing to resume; run a new one",
            1,
          );
      }
      return runAndWatch(conn, name, true, detach);
    });
  },
});

/** A name, or the first tuning a file exports. */
async function nameOf(arg: string, pick?: string): Promise<string> {
  return isFile(arg) ? (pick ?? (await namesIn(arg))[0]) : arg;
}

export const tuneShowCommand = command({
  name: "tune show",
  summary: "show a tuning experiment: every trial, the best one, the tuning run",
  usage: "keel tune show <name|file> [--url http://localhost:5000] [--json]",
  flags: ["url", "data-dir", "json"],
  async run(argv, cli) {
    const { target, pick } = tuningArgs(argv, false);
    const name = await nameOf(target, pick);
    return closing(await cli.serverOrDataDir(), async (conn) => {
      const got = await conn.get<{ experiment: TuningExperimentJson; trials: TuningTrialJson[] }>(
        experimentPath(name),
      );
      if (cli.json) console.log(JSON.stringify(got, null, 2));
      else printExperiment(got.experiment, got.trials);
      return 0;
    });
  },
});

export const tuneStopCommand = command({
  name: "tune stop",
  summary: "stop a running tuning experiment (its running trials end STOPPED; resume reruns them)",
  usage: "keel tune stop <name|file> [--url http://localhost:5000]",
  flags: ["url", "data-dir"],
  async run(argv, cli) {
    const { target, pick } = tuningArgs(argv, false);
    const name = await nameOf(target, pick);
    return closing(await cli.serverOrDataDir(), async (conn) => {
      const { experiment } = await conn.post<{ experiment: TuningExperimentJson }>(
        `${experimentPath(name)}/stop`,
        {},
      );
      console.log(`tuning ${name}: ${experiment.stopRequested ? "stop requested" : experiment.status}`);
      return 0;
    });
  },
});

export const tuneCommands: Command[] = [tuneRunCommand, tuneShowCommand, tuneStopCommand, tuneResumeCommand];
