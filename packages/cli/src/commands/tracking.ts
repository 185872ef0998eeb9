import { parseArgs } from "node:util";
import { isKeelApiError } from "@keel/sdk";
import type { Connection } from "../client";
import { type Command, command, UsageError } from "../command";
import { printTable, when } from "../table";

/** `keel experiments list`, `keel runs list`: the MLflow tracking data, over the tracking API. */
const API = "/api/2.0/mlflow";

interface ExperimentView {
  experiment_id: string;
  name: string;
  lifecycle_stage: string;
  creation_time?: number;
  last_update_time?: number;
}
interface RunView {
  info: {
    run_id: string;
    run_name?: string;
    experiment_id: string;
    status: string;
    start_time?: number;
    end_time?: number;
  };
  data: { metrics?: Array<{ key: string; value: number | string }> };
}

function limitOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit must be a positive integer, got ${value}`);
  return n;
}

/** Follows next_page_token until `limit` items are collected. */
async function collect<T>(
  limit: number,
  page: (maxResults: number, pageToken?: string) => Promise<{ items: T[]; next?: string }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const p = await page(Math.min(limit - items.length, 1000), token);
    items.push(...p.items);
    token = p.next;
  } while (token && items.length < limit);
  return items.slice(0, limit);
}

function searchExperiments(conn: Connection, limit: number): Promise<ExperimentView[]> {
  return collect(limit, async (max_results, page_token) => {
    const r = await conn.post<{ experiments?: ExperimentView[]; next_page_token?: string }>(
      `${API}/experiments/search`,
      { max_results, page_token },
    );
    return { items: r.experiments ?? [], next: r.next_page_token };
  });
}

/** An experiment named by name or id. */
async function experimentOf(conn: Connection, nameOrId: string): Promise<ExperimentView> {
  try {
    return (
      await conn.get<{ experiment: ExperimentView }>(`${API}/experiments/get-by-name`, {
        experiment_name: nameOrId,
      })
    ).experiment;
  } catch (e) {
    if (!isKeelApiError(e, "RESOURCE_DOES_NOT_EXIST")) throw e;
  }
  try {
    return (
      await conn.get<{ experiment: ExperimentView }>(`${API}/experiments/get`, { experiment_id: nameOrId })
    ).experiment;
  } catch (e) {
    if (isKeelApiError(e, "RESOURCE_DOES_NOT_EXIST") || isKeelApiError(e, "INVALID_PARAMETER_VALUE"))
      throw new UsageError(`no experiment named or numbered '${nameOrId}' (see 'keel experiments list')`);
    throw e;
  }
}

export const experimentsListCommand = command({
  name: "experiments list",
  summary: "list the tracking server's experiments",
  usage: "keel experiments list [--limit 1000] [--url http://localhost:5000] [--json]",
  flags: ["url", "json"],
  async run(argv, cli) {
    const { values } = parseArgs({ args: argv, options: { limit: { type: "string", default: "1000" } } });
    const experiments = await searchExperiments(cli.server(), limitOf(values.limit));
    if (cli.json) {
      console.log(JSON.stringify(experiments, null, 2));
      return 0;
    }
    printTable(
      ["ID", "NAME", "STAGE", "CREATED"],
      experiments.map((e) => [e.experiment_id, e.name, e.lifecycle_stage, when(e.creation_time)]),
    );
    return 0;
  },
});

export const runsListCommand = command({
  name: "runs list",
  summary: "list runs, newest first (one experiment, or all; with an MLflow filter)",
  usage:
    'keel runs list [--experiment <name|id>] [--filter "metrics.auc > 0.9"] [--limit 100] [--url http://localhost:5000] [--json]',
  flags: ["url", "json"],
  async run(argv, cli) {
    const { values } = parseArgs({
      args: argv,
      options: {
        experiment: { type: "string" },
        filter: { type: "string" },
        limit: { type: "string", default: "100" },
      },
    });
    const limit = limitOf(values.limit);
    const conn = cli.server();
    const experiments = values.experiment
      ? [await experimentOf(conn, values.experiment)]
      : await searchExperiments(conn, 10_000);
    const names = new Map(experiments.map((e) => [e.experiment_id, e.name]));
    const runs =
      experiments.length === 0
        ? []
        : await collect(limit, async (max_results, page_token) => {
            const r = await conn.post<{ runs?: RunView[]; next_page_token?: string }>(`${API}/runs/search`, {
              experiment_ids: [...names.keys()],
              filter: values.filter,
              order_by: ["attributes.start_time DESC"],
              max_results,
              page_token,
            });
            return { items: r.runs ?? [], next: r.next_page_token };
          });
    if (cli.json) {
      console.log(JSON.stringify(runs, null, 2));
      return 0;
    }
    printTable(
      ["RUN ID", "EXPERIMENT", "NAME", "STATUS", "STARTED", "METRICS"],
      runs.map((r) => [
        r.info.run_id,
        names.get(r.info.experiment_id) ?? r.info.experiment_id,
        r.info.run_name ?? "",
        r.info.status,
        when(r.info.start_time),
        (r.data.metrics ?? [])
          .slice(0, 4)
          .map((m) => `${m.key}=${typeof m.value === "number" ? Number(m.value.toPrecision(4)) : m.value}`)
          .join(" "),
      ]),
    );
    return 0;
  },
});

export const trackingCommands: Command[] = [experimentsListCommand, runsListCommand];
