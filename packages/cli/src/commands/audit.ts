import { parseArgs } from "node:util";
import {
  type NotApplied,
  notingNotApplied,
  StoreAuditLog,
  type VerifiableEvent,
  type VerifyResult,
  verifyChain,
  verifyWithState,
} from "@keel/audit";
// The audited-state entries only: the packages' indexes load their HTTP routes, gRPC and SDK clients.
import { registryAuditedState } from "@keel/registry/audited-state";
import { deploymentAuditedState } from "@keel/serving/audited-state";
import type { Cli } from "../client";
import { type Command, command, UsageError } from "../command";
import { createProgress } from "../progress";

/** Verifies the chain stored under a data dir, reading its metadata store directly. */
async function verifyDataDir(cli: Cli): Promise<VerifyResult> {
  const { store, close } = await cli.openDataDirStore();
  try {
    const audit = new StoreAuditLog(store);
    // Noted during the one read of the trail, instead of listing the whole trail again.
    const intended: NotApplied[] = [];
    const verify = createProgress(process.stderr).task(
      "verifying the audit chain",
      async (update) => {
        async function* counted(): AsyncGenerator<VerifiableEvent> {
          let n = 0;
          for await (const e of notingNotApplied(audit.scanForVerify(), intended)) {
            if (++n % 10_000 === 0) update(`${n} events`);
            yield e;
          }
        }
        return verifyChain(counted());
      },
      (r) => `${r.count} events`,
    );
    return await verifyWithState(
      await verify,
      (seqs) => audit.at(seqs),
      [registryAuditedState(store), deploymentAuditedState(store)],
      { notApplied: intended },
    );
  } finally {
    await close();
  }
}

/** --url (or KEEL_URL): ask that server; else read the data dir's files directly. */
function verify(cli: Cli): Promise<VerifyResult> {
  if (cli.options.url && cli.options.dataDir) throw new UsageError("give --data-dir or --url, not both");
  if (cli.options.dataDir === undefined && cli.urlGiven)
    return cli.server().get<VerifyResult>("/api/v1/audit/verify");
  return verifyDataDir(cli);
}

export const auditVerifyCommand = command({
  name: "audit verify",
  summary:
    "recompute the audit trail's hash chain and check protected state has its events; exit 1 naming what fails",
  flags: ["url", "data-dir"],
  usage: "keel audit verify [--data-dir ./.keel] [--url http://localhost:5000]",
  async run(argv, cli) {
    parseArgs({ args: argv, options: {} });
    const result = await verify(cli);
    if (result.ok) {
      console.log(`ok ${result.count} events`);
      // Harmless, but worth a look: changes that were announced and then failed to be written.
      for (const n of result.notApplied ?? [])
        console.log(`intended, not applied: event ${n.seq} ${n.action} ${n.resource}`);
      return 0;
    }
    if ("stateWithoutEvent" in result) {
      for (const item of result.stateWithoutEvent) console.log(`state without audit event: ${item}`);
      return 1;
    }
    console.log(
      `event ${result.seq} does not verify: ${result.reason} (${result.count} events before it verified)`,
    );
    return 1;
  },
});

export const auditListCommand = command({
  name: "audit list",
  summary: "list audit events (filters: resource, principal, action, time range)",
  flags: ["url", "json"],
  usage:
    "keel audit list [--url http://localhost:5000] [--resource R | --resource-prefix P] [--principal P] [--action A] " +
    "[--from <ISO or ms>] [--to <ISO or ms>] [--limit 100] [--json]",
  async run(argv, cli) {
    const { values } = parseArgs({
      args: argv,
      options: {
        resource: { type: "string" },
        "resource-prefix": { type: "string" },
        principal: { type: "string" },
        action: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        limit: { type: "string", default: "100" },
      },
    });
    const http = cli.server();
    type Page = { events: Array<Record<string, unknown>>; next_page_token?: string };
    let remaining = Number(values.limit);
    if (!Number.isInteger(remaining) || remaining < 1)
      throw new UsageError(`--limit must be a positive integer`);
    let token: string | undefined;
    do {
      const page = await http.get<Page>("/api/v1/audit", {
        resource: values.resource,
        resource_prefix: values["resource-prefix"],
        principal: values.principal,
        action: values.action,
        from: values.from,
        to: values.to,
        max_results: Math.min(remaining, 1000),
        page_token: token,
      });
      for (const e of page.events) {
        console.log(
          cli.json
            ? JSON.stringify(e)
            : `${String(e.seq).padStart(6)}  ${e.time_iso}  ${String(e.principal).padEnd(16)} ${String(e.action).padEnd(34)} ${e.resource}`,
        );
      }
      remaining -= page.events.length;
      token = page.next_page_token;
    } while (token && remaining > 0);
    return 0;
  },
});

export const auditCommands: Command[] = [auditVerifyCommand, auditListCommand];
