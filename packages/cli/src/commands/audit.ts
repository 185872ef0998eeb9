import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { AuditError, StoreAuditLog, type VerifiableEvent, type VerifyResult, verifyChain } from "@keel/audit";
import { loadConfig } from "@keel/core";
import { localPaths, openLocalMetadataStore } from "@keel/metadata";
import { HttpTransport } from "@keel/sdk";
import { type Command, UsageError } from "../command";
import { createProgress } from "../progress";

const DEFAULT_URL = "http://localhost:5000";

/**
 * dynalite reports a data dir that another process holds (LevelDB's lock) only as an uncaught
 * "Database is closed" error after it has started; this turns that into a clear failure.
 */
export function dataDirInUse(dir: string): { failure: Promise<never>; dispose(): void } {
  let listener: (e: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => {
    listener = (e: Error) => {
      if (!/Database is (closed|not open)|LOCK/i.test(e.message)) throw e;
      reject(
        new AuditError(
          "INVALID_STATE",
          `the data dir ${dir} is in use (is 'keel dev' running on it?): use --url instead`,
        ),
      );
    };
    process.on("uncaughtException", listener);
  });
  failure.catch(() => {});
  return { failure, dispose: () => process.off("uncaughtException", listener) };
}

/** Verifies the chain stored under a data dir, reading its metadata store directly. */
async function verifyDataDir(dataDir: string): Promise<VerifyResult> {
  const paths = localPaths(resolve(dataDir));
  if (!existsSync(paths.sqlite) && !existsSync(paths.dynalite))
    throw new UsageError(`no Keel data under ${resolve(dataDir)} (expected ${paths.sqlite})`);
  // A data dir from an older Keel is migrated first, through dynalite (which needs it unused).
  const inUse = dataDirInUse(paths.dynalite);
  const store = await Promise.race([
    openLocalMetadataStore(resolve(dataDir), {
      table: loadConfig().core.table,
      log: (l) => console.error(l),
    }),
    inUse.failure,
  ]).catch((e) => {
    inUse.dispose();
    throw e;
  });
  try {
    const audit = new StoreAuditLog(store);
    const verify = createProgress(process.stderr).task(
      "verifying the audit chain",
      async (update) => {
        async function* counted(): AsyncGenerator<VerifiableEvent> {
          let n = 0;
          for await (const e of audit.scanForVerify()) {
            if (++n % 10_000 === 0) update(`${n} events`);
            yield e;
          }
        }
        return verifyChain(counted());
      },
      (r) => `${r.count} events`,
    );
    return await Promise.race([verify, inUse.failure]);
  } finally {
    inUse.dispose();
    await store.close();
  }
}

export const auditVerifyCommand: Command = {
  name: "audit verify",
  summary: "recompute the audit trail's hash chain; exit 1 naming the first bad event",
  usage: "keel audit verify [--data-dir ./.keel] [--url http://localhost:5000]",
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { "data-dir": { type: "string" }, url: { type: "string" } },
    });
    if (values.url && values["data-dir"]) throw new UsageError("give --data-dir or --url, not both");
    const result = values.url
      ? await new HttpTransport({ url: values.url }).get<VerifyResult>("/api/v1/audit/verify")
      : await verifyDataDir(values["data-dir"] ?? "./.keel");
    if (result.ok) {
      console.log(`ok ${result.count} events`);
      return 0;
    }
    console.log(
      `event ${result.seq} does not verify: ${result.reason} (${result.count} events before it verified)`,
    );
    return 1;
  },
};

export const auditListCommand: Command = {
  name: "audit list",
  summary: "list audit events (filters: resource, principal, action, time range)",
  usage:
    "keel audit list [--url http://localhost:5000] [--resource R | --resource-prefix P] [--principal P] [--action A] " +
    "[--from <ISO or ms>] [--to <ISO or ms>] [--limit 100] [--json]",
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        url: { type: "string", default: DEFAULT_URL },
        resource: { type: "string" },
        "resource-prefix": { type: "string" },
        principal: { type: "string" },
        action: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        limit: { type: "string", default: "100" },
        json: { type: "boolean", default: false },
      },
    });
    const http = new HttpTransport({ url: values.url });
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
          values.json
            ? JSON.stringify(e)
            : `${String(e.seq).padStart(6)}  ${e.time_iso}  ${String(e.principal).padEnd(16)} ${String(e.action).padEnd(34)} ${e.resource}`,
        );
      }
      remaining -= page.events.length;
      token = page.next_page_token;
    } while (token && remaining > 0);
    return 0;
  },
};

export const auditCommands: Command[] = [auditVerifyCommand, auditListCommand];
