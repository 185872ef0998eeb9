import { randomUUID } from "node:crypto";
import {
  type ColumnInfo,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
  StopQueryExecutionCommand,
} from "@aws-sdk/client-athena";
import { KeelError } from "@keel/core";
import type { Row } from "./engine";

/** The slice of an AWS SDK v3 client Keel calls: `send` with a command object. */
export interface CommandSender {
  // biome-ignore lint/suspicious/noExplicitAny: SDK clients overload `send` per command; callers type each call.
  send(command: any): Promise<any>;
}

export interface AthenaQueryOptions {
  workgroup: string;
  /** Glue database the unqualified names resolve in. */
  database: string;
  /** First wait between GetQueryExecution polls; doubles up to `maxPollMs` (default 200 ms, 5 s). */
  pollMs?: number;
  maxPollMs?: number;
  /** Longest a query may run before it is stopped (default 10 minutes). */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const DONE = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);
const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs one Athena query to its end: StartQueryExecution, GetQueryExecution polled with
 * exponential backoff, and StopQueryExecution when it outlives the timeout. A FAILED or
 * CANCELLED query throws with Athena's reason, naming the query (its id finds it in the console).
 */
export async function runAthenaQuery(
  athena: CommandSender,
  sql: string,
  opts: AthenaQueryOptions,
): Promise<string> {
  const sleep = opts.sleep ?? wait;
  const input: StartQueryExecutionCommandInput = {
    QueryString: sql,
    WorkGroup: opts.workgroup,
    QueryExecutionContext: { Catalog: "AwsDataCatalog", Database: opts.database },
    ClientRequestToken: randomUUID(),
  };
  const { QueryExecutionId: id } = await athena.send(new StartQueryExecutionCommand(input));
  if (!id) throw new KeelError("INTERNAL_ERROR", "Athena StartQueryExecution returned no query id");
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  let delay = opts.pollMs ?? 200;
  for (;;) {
    const r: GetQueryExecutionCommandOutput = await athena.send(
      new GetQueryExecutionCommand({ QueryExecutionId: id }),
    );
    const state = r.QueryExecution?.Status?.State;
    if (state && DONE.has(state)) {
      if (state === "SUCCEEDED") return id;
      const reason = r.QueryExecution?.Status?.StateChangeReason ?? "no reason given";
      throw new KeelError("INVALID_PARAMETER_VALUE", `Athena query ${id} ${state}: ${reason}`);
    }
    if (Date.now() >= deadline) {
      await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => {});
      throw new KeelError(
        "DEADLINE_EXCEEDED",
        `Athena query ${id} still ${state ?? "unknown"} after ${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s: stopped it`,
      );
    }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    delay = Math.min(delay * 2, opts.maxPollMs ?? 5000);
  }
}

/** Every result row of a finished query, typed from Athena's column metadata. */
export async function athenaResultRows(athena: CommandSender, id: string): Promise<Row[]> {
  const rows: Row[] = [];
  let token: string | undefined;
  let first = true;
  do {
    const page: GetQueryResultsCommandOutput = await athena.send(
      new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }),
    );
    const cols = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
    for (const r of (page.ResultSet?.Rows ?? []).slice(first ? 1 : 0))
      rows.push(
        Object.fromEntries(cols.map((c, i) => [c.Name as string, typed(c, r.Data?.[i]?.VarCharValue)])),
      );
    first = false;
    token = page.NextToken;
  } while (token);
  return rows;
}

/** Athena returns every value as text: numbers and booleans are restored, the rest stay text. */
function typed(col: ColumnInfo, v: string | undefined): unknown {
  if (v === undefined) return null;
  const t = (col.Type ?? "varchar").toLowerCase();
  if (/^(bigint|integer|int|smallint|tinyint|double|float|real|decimal)/.test(t)) return Number(v);
  if (t === "boolean") return v === "true";
  return v;
}
