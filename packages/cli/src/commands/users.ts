import { parseArgs } from "node:util";
import { StoreAuditLog } from "@keel/audit";
import { parseRoles, type User, UsersStore } from "@keel/auth";
import type { Cli } from "../client";
import { type Command, command, UsageError } from "../command";

/**
 * `keel users ...`: the users of `keel dev --auth`. With `--data-dir` (the default, ./.keel)
 * the store is opened directly, so the first admin can be added before the server starts;
 * with `--url` the running server is asked, authenticated by an admin's token (`--token`,
 * KEEL_TOKEN or MLFLOW_TRACKING_TOKEN).
 */
const common = { token: { type: "string" } } as const;
const USAGE_TAIL = "[--data-dir ./.keel | --url http://localhost:5000 --token <admin token>]";

interface UsersApi {
  add(name: string, roles: string[]): Promise<{ user: User; token: string }>;
  list(): Promise<User[]>;
  remove(name: string): Promise<void>;
  rotate(name: string): Promise<string>;
}

function httpApi(cli: Cli, token: string | undefined): UsersApi {
  if (!token)
    throw new UsageError("--url needs an admin's token: --token, KEEL_TOKEN or MLFLOW_TRACKING_TOKEN");
  const http = cli.server({ token });
  const enc = encodeURIComponent;
  return {
    add: (name, roles) => http.post("/api/v1/users", { name, roles }),
    list: async () => (await http.get<{ users: User[] }>("/api/v1/users")).users,
    remove: async (name) => {
      await http.request("DELETE", `/api/v1/users/${enc(name)}`);
    },
    rotate: async (name) =>
      (await http.post<{ token: string }>(`/api/v1/users/${enc(name)}/rotate`, {})).token,
  };
}

/** Runs `fn` on the users store under the data dir (holding its lock: keel dev must be stopped). */
async function withDataDir<T>(cli: Cli, fn: (api: UsersApi) => Promise<T>): Promise<T> {
  const { store, close } = await cli.openDataDirStore({ create: true });
  try {
    const users = new UsersStore(store, new StoreAuditLog(store));
    return await fn({
      add: (name, roles) => users.add(name, parseRoles(roles)),
      list: () => users.list(),
      remove: (name) => users.remove(name),
      rotate: (name) => users.rotate(name),
    });
  } finally {
    await close();
  }
}

/** --url (or KEEL_URL): that server, with an admin's token; else the data dir (default ./.keel). */
function run<T>(cli: Cli, values: { token?: string }, fn: (api: UsersApi) => Promise<T>) {
  if (cli.options.url && cli.options.dataDir) throw new UsageError("give --data-dir or --url, not both");
  if (cli.options.dataDir === undefined && cli.urlGiven)
    return fn(httpApi(cli, values.token || process.env.KEEL_TOKEN || process.env.MLFLOW_TRACKING_TOKEN));
  return withDataDir(cli, fn);
}

function oneName(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError("give exactly one user name");
  return positionals[0];
}

const addCommand = command({
  flags: ["url", "data-dir"],
  name: "users add",
  summary: "add a user of keel dev --auth; prints its API token (once) on the last line",
  usage: `keel users add <name> --roles viewer,data-scientist,approver,deployer,admin,auditor ${USAGE_TAIL}`,
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...common, roles: { type: "string" } },
    });
    if (!values.roles) throw new UsageError("--roles is required (comma-separated)");
    const roles = parseRoles(values.roles);
    const { user, token } = await run(cli, values, (api) => api.add(oneName(positionals), roles));
    console.log(`added ${user.name} with roles ${user.roles.join(", ")}`);
    console.log(`Its token (shown once): send it as 'Authorization: Bearer <token>', MLFLOW_TRACKING_TOKEN,`);
    console.log(`or HTTP Basic ${user.name}:<token> (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD).`);
    console.log(token);
    return 0;
  },
});

const listCommand = command({
  flags: ["url", "data-dir"],
  name: "users list",
  summary: "list the users of keel dev --auth and their roles",
  usage: `keel users list ${USAGE_TAIL}`,
  async run(argv, cli) {
    const { values } = parseArgs({ args: argv, options: common });
    const users = await run(cli, values, (api) => api.list());
    if (users.length === 0) console.log("no users (add one with 'keel users add <name> --roles admin')");
    for (const u of users) console.log(`${u.name.padEnd(24)} ${u.roles.join(",")}`);
    return 0;
  },
});

const removeCommand = command({
  flags: ["url", "data-dir"],
  name: "users remove",
  summary: "remove a user; its token stops working at once",
  usage: `keel users remove <name> ${USAGE_TAIL}`,
  async run(argv, cli) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: common });
    const name = oneName(positionals);
    await run(cli, values, (api) => api.remove(name));
    console.log(`removed ${name}`);
    return 0;
  },
});

const rotateCommand = command({
  flags: ["url", "data-dir"],
  name: "users rotate",
  summary: "replace a user's token; prints the new one on the last line",
  usage: `keel users rotate <name> ${USAGE_TAIL}`,
  async run(argv, cli) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: common });
    const name = oneName(positionals);
    const token = await run(cli, values, (api) => api.rotate(name));
    console.log(`rotated the token of ${name}; the old one no longer works. New token (shown once):`);
    console.log(token);
    return 0;
  },
});

export const usersCommands: Command[] = [addCommand, listCommand, removeCommand, rotateCommand];

/**
 * What `keel dev` says about identity at start. With `--auth` and no users yet, it creates
 * the user `admin` (role admin) and prints its token this once.
 */
export async function authBanner(access: { mode: string; users: UsersStore }): Promise<string[]> {
  if (access.mode !== "users")
    return [
      "  auth:     single-user laptop mode: no login, every caller holds every role",
      "            (x-keel-principal names the caller); start with --auth for users and tokens",
    ];
  const lines = [
    "  auth:     --auth: every request needs 'Authorization: Bearer <token>' or Basic <name>:<token>",
    "            manage users with 'keel users add|list|remove|rotate --url <this url> --token <admin token>'",
    "            (the quickstart example does not run in this mode)",
  ];
  if ((await access.users.count()) > 0) return lines;
  const { token } = await access.users.add("admin", ["admin"]);
  return [
    ...lines,
    "  first start with --auth: created the user 'admin' (role admin). Its token, shown only now:",
    `  ${token}`,
  ];
}
