import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Cli } from "../client";
import { type Command, type CommandSpec, command, UsageError } from "../command";

/** `keel deploy ...`: rollouts over Keel's deployment API (/api/v1/deployments). */
const FLAGS: CommandSpec["flags"] = ["url", "as"];

interface VersionRef {
  model: string;
  version: string;
  backend: { type: string; url?: string; endpoint?: string; name?: string };
}

interface Deployment {
  name: string;
  environment: string;
  stable: VersionRef;
  canary?: VersionRef & { weight: number };
  shadow?: VersionRef;
  revision: number;
  history: Array<{ time: number; principal: string; action: string; detail: string }>;
  analysis_status?: { decision: string; reason: string; stable?: Stats; canary?: Stats };
}
interface Stats {
  requests: number;
  errorRate: number;
  p95Ms: number;
}

const enc = encodeURIComponent;

function parse(cli: Cli, argv: string[], options: ParseArgsConfig["options"], names: string[]) {
  const parsed = parseArgs({ args: argv, options, allowPositionals: true });
  if (parsed.positionals.length !== names.length)
    throw new UsageError(`expected ${names.map((n) => `<${n}>`).join(" ")}`);
  const values = parsed.values as Record<string, string | boolean | undefined>;
  return { values, positionals: parsed.positionals, client: cli.server() };
}

const ref = (r: VersionRef) =>
  `${r.model}@${r.version}${r.backend.type === "local" ? "" : ` (${r.backend.type} ${r.backend.url ?? r.backend.endpoint ?? r.backend.name ?? ""})`}`;

function print(d: Deployment): void {
  console.log(`deployment ${d.name} (${d.environment}, revision ${d.revision})`);
  console.log(`  stable  ${ref(d.stable)}  ${d.canary ? 100 - d.canary.weight : 100}%`);
  if (d.canary) console.log(`  canary  ${ref(d.canary)}  ${d.canary.weight}%`);
  if (d.shadow) console.log(`  shadow  ${ref(d.shadow)}  (copy of every request)`);
  const a = d.analysis_status;
  if (a && a.decision !== "none") {
    const s = (x?: Stats) =>
      x ? `${x.requests} req, ${(x.errorRate * 100).toFixed(1)}% errors, p95 <= ${x.p95Ms} ms` : "-";
    console.log(
      `  analysis: ${a.decision} (${a.reason})\n    stable: ${s(a.stable)}\n    canary: ${s(a.canary)}`,
    );
  }
  for (const h of d.history.slice(0, 5))
    console.log(`  ${new Date(h.time).toISOString()} ${h.principal}: ${h.action} ${h.detail}`);
}

function backend(values: Record<string, string | boolean | undefined>) {
  if (values["kserve-url"] && values["sagemaker-endpoint"])
    throw new UsageError("give --kserve-url or --sagemaker-endpoint, not both");
  if (values["kserve-url"]) return { type: "kserve", url: values["kserve-url"] };
  if (values["sagemaker-endpoint"]) return { type: "sagemaker", endpoint: values["sagemaker-endpoint"] };
  return undefined;
}
const backendFlags = { "kserve-url": { type: "string" }, "sagemaker-endpoint": { type: "string" } } as const;

const create = command({
  name: "deploy create",
  summary: "create a deployment serving a model version",
  flags: FLAGS,
  usage:
    "keel deploy create <name> <model> <version> [--production] [--sticky-key K] [--feature-service S --feature-input I] [--kserve-url U | --sagemaker-endpoint E] [--url U]",
  async run(argv, cli) {
    const { values, positionals, client } = parse(
      cli,
      argv,
      {
        production: { type: "boolean", default: false },
        "sticky-key": { type: "string" },
        "feature-service": { type: "string" },
        "feature-input": { type: "string" },
        ...backendFlags,
      },
      ["name", "model", "version"],
    );
    const [name, model, version] = positionals;
    if (Boolean(values["feature-service"]) !== Boolean(values["feature-input"]))
      throw new UsageError("--feature-service and --feature-input go together");
    const d = await client.post<Deployment>("/api/v1/deployments", {
      name,
      model,
      version,
      environment: values.production ? "production" : "staging",
      sticky_key: values["sticky-key"],
      backend: backend(values),
      features: values["feature-service"]
        ? { feature_service: values["feature-service"], input: values["feature-input"] }
        : undefined,
    });
    print(d);
    return 0;
  },
});

const shift = command({
  name: "deploy shift",
  summary: "send a share of traffic to a canary version (0-100%)",
  flags: FLAGS,
  usage:
    "keel deploy shift <name> <version> --weight 10 [--model M] [--kserve-url U | --sagemaker-endpoint E] [--url U]",
  async run(argv, cli) {
    const { values, positionals, client } = parse(
      cli,
      argv,
      { weight: { type: "string" }, model: { type: "string" }, ...backendFlags },
      ["name", "version"],
    );
    const weight = Number(values.weight);
    if (values.weight === undefined || !Number.isFinite(weight) || weight < 0 || weight > 100)
      throw new UsageError("--weight must be a number from 0 to 100");
    print(
      await client.post<Deployment>(`/api/v1/deployments/${enc(positionals[0])}/shift`, {
        version: positionals[1],
        weight,
        model: values.model,
        backend: backend(values),
      }),
    );
    return 0;
  },
});

const shadow = command({
  name: "deploy shadow",
  summary: "mirror every request to a version whose answers are never returned (--off stops)",
  flags: FLAGS,
  usage:
    "keel deploy shadow <name> [<version>] [--off] [--model M] [--kserve-url U | --sagemaker-endpoint E] [--url U]",
  async run(argv, cli) {
    const parsed = parseArgs({
      args: argv,
      options: {
        off: { type: "boolean", default: false },
        model: { type: "string" },
        ...backendFlags,
      },
      allowPositionals: true,
    });
    const [name, version] = parsed.positionals;
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (!name || (values.off ? version !== undefined : version === undefined))
      throw new UsageError("expected <name> <version>, or <name> --off");
    const client = cli.server();
    const path = `/api/v1/deployments/${enc(name)}/shadow`;
    print(
      values.off
        ? await client.request<Deployment>("DELETE", path)
        : await client.request<Deployment>("PUT", path, {
            version,
            model: values.model,
            backend: backend(values),
          }),
    );
    return 0;
  },
});

const action = (verb: "promote" | "rollback", summary: string) =>
  command({
    name: `deploy ${verb}`,
    summary,
    flags: FLAGS,
    usage: `keel deploy ${verb} <name> [--reason R] [--url U]`,
    async run(argv, cli) {
      const { values, positionals, client } = parse(cli, argv, { reason: { type: "string" } }, ["name"]);
      print(
        await client.post<Deployment>(`/api/v1/deployments/${enc(positionals[0])}/${verb}`, {
          reason: values.reason,
        }),
      );
      return 0;
    },
  });

const analyze = command({
  name: "deploy analyze",
  summary: "compare canary and stable now; promote or roll back when the evidence is in",
  flags: FLAGS,
  usage: "keel deploy analyze <name> [--url U]",
  async run(argv, cli) {
    const { positionals, client } = parse(cli, argv, {}, ["name"]);
    const r = await client.post<{ decision: string; reason: string }>(
      `/api/v1/deployments/${enc(positionals[0])}/analyze`,
      {},
    );
    console.log(`${r.decision}: ${r.reason}`);
    return 0;
  },
});

const status = command({
  name: "deploy status",
  summary: "show a deployment's versions, weights, canary analysis and recent changes (no name: list all)",
  flags: FLAGS,
  usage: "keel deploy status [<name>] [--url U]",
  async run(argv, cli) {
    const parsed = parseArgs({ args: argv, options: {}, allowPositionals: true });
    const client = cli.server();
    const [name] = parsed.positionals;
    if (name) print(await client.get<Deployment>(`/api/v1/deployments/${enc(name)}`));
    else
      for (const d of (await client.get<{ deployments: Deployment[] }>("/api/v1/deployments")).deployments)
        print(d);
    return 0;
  },
});

export const deployCommands: Command[] = [
  create,
  shift,
  shadow,
  action("promote", "make the canary the stable version"),
  action("rollback", "send all traffic back to stable (or to the stable before the last promotion)"),
  analyze,
  status,
];
