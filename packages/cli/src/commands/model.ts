import { writeFile } from "node:fs/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { type Command, type CommandSpec, command, UsageError } from "../command";
import { printTable, when } from "../table";

/**
 * `keel model ...`: governance from the command line, over Keel's HTTP API. `--as` names the
 * principal locally (the local platform trusts it; in AWS the identity comes from the token).
 */
const FLAGS: CommandSpec["flags"] = ["url", "as"];

const enc = encodeURIComponent;

interface Promotion {
  id: string;
  model: string;
  version: string;
  target: { stage?: string; alias?: string };
  status: string;
  requester: string;
  reviewer?: string;
  checks_at_request: Array<{ check: string; passed: boolean; message: string }>;
  checks_at_approval?: Array<{ check: string; passed: boolean; message: string }>;
}

function printPromotion(p: Promotion) {
  const target = p.target.stage ? `stage ${p.target.stage}` : `alias ${p.target.alias}`;
  console.log(`promotion ${p.id}: ${p.model} v${p.version} -> ${target}: ${p.status}`);
  console.log(`  requested by ${p.requester}${p.reviewer ? `, reviewed by ${p.reviewer}` : ""}`);
  for (const c of p.checks_at_approval ?? p.checks_at_request) {
    console.log(`  ${c.passed ? "✔" : "✖"} ${c.check}: ${c.message}`);
  }
}

function positionals(argv: string[], options: ParseArgsConfig["options"], count: number, names: string) {
  const parsed = parseArgs({ args: argv, options, allowPositionals: true });
  if (parsed.positionals.length !== count) throw new UsageError(`expected ${names}`);
  return parsed as { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
}

const promote = command({
  name: "model promote",
  summary: "request promotion of a version into a stage or alias (a second person approves)",
  flags: FLAGS,
  usage:
    "keel model promote <name> <version> (--stage Production | --alias champion) [--comment C] [--archive-existing] [--as P]",
  async run(argv, cli) {
    const {
      values,
      positionals: [name, version],
    } = positionals(
      argv,
      {
        stage: { type: "string" },
        alias: { type: "string" },
        comment: { type: "string", default: "" },
        "archive-existing": { type: "boolean", default: false },
      },
      2,
      "<name> <version>",
    );
    if (Boolean(values.stage) === Boolean(values.alias))
      throw new UsageError("give exactly one of --stage or --alias");
    const r = await cli
      .server()
      .post<{ promotion: Promotion }>(`/api/v1/models/${enc(name)}/versions/${enc(version)}/promotions`, {
        stage: values.stage,
        alias: values.alias,
        comment: values.comment,
        archive_existing_versions: values["archive-existing"],
      });
    printPromotion(r.promotion);
    if (r.promotion.status === "PENDING")
      console.log(`  a different principal approves with: keel model approve ${r.promotion.id}`);
    return 0;
  },
});

function decision(verb: "approve" | "reject", kind: "promotion" | "policy change" = "promotion"): Command {
  const policy = kind === "policy change";
  return command({
    name: policy ? `model policy-${verb}` : `model ${verb}`,
    summary:
      verb === "approve"
        ? `approve a ${kind} request (not your own) and apply it`
        : `reject a ${kind} request`,
    flags: FLAGS,
    usage: `keel model ${policy ? "policy-" : ""}${verb} <request-id> [--comment C] [--as P]`,
    async run(argv, cli) {
      const {
        values,
        positionals: [id],
      } = positionals(argv, { comment: { type: "string", default: "" } }, 1, "<request-id>");
      const http = cli.server();
      if (policy) {
        const r = await http.post<{ policy_change: unknown }>(`/api/v1/policy-changes/${enc(id)}/${verb}`, {
          comment: values.comment,
        });
        console.log(JSON.stringify(r.policy_change, null, 2));
        return 0;
      }
      const r = await http.post<{ promotion: Promotion }>(`/api/v1/promotions/${enc(id)}/${verb}`, {
        comment: values.comment,
      });
      printPromotion(r.promotion);
      return 0;
    },
  });
}

const policy = command({
  name: "model policy",
  summary: "show or set a model's promotion policy (protected stages/aliases, checks)",
  flags: FLAGS,
  usage:
    "keel model policy <name> [--protect-stage S]... [--protect-alias A]... [--check 'auc >= 0.9' | --check model_card]...",
  async run(argv, cli) {
    const {
      values,
      positionals: [name],
    } = positionals(
      argv,
      {
        "protect-stage": { type: "string", multiple: true },
        "protect-alias": { type: "string", multiple: true },
        check: { type: "string", multiple: true },
      },
      1,
      "<name>",
    );
    const http = cli.server();
    const path = `/api/v1/models/${enc(name)}/policy`;
    const change = {
      protected_stages: values["protect-stage"],
      protected_aliases: values["protect-alias"],
      checks: values.check,
    };
    const r = Object.values(change).some((v) => v !== undefined)
      ? await http.request<{ policy?: unknown; policy_change?: { id: string } }>("PUT", path, change)
      : await http.get<{ policy?: unknown; policy_change?: { id: string } }>(path);
    if (r.policy_change) {
      console.log(JSON.stringify(r.policy_change, null, 2));
      console.log(
        `  this weakens the policy: another admin approves with: keel model policy-approve ${r.policy_change.id}`,
      );
      return 0;
    }
    console.log(JSON.stringify(r.policy, null, 2));
    return 0;
  },
});

interface Lineage {
  root: string;
  nodes: Array<{ id: string; type: string; label: string; attributes: Record<string, unknown> }>;
  edges: Array<{ from: string; to: string; relation: string }>;
  notes: string[];
}

const lineage = command({
  name: "model lineage",
  summary: "show where a model version came from: run, data, pipeline, approvals, deployments",
  flags: ["url", "as", "json"],
  usage: "keel model lineage <name> <version> [--json]",
  async run(argv, cli) {
    const {
      positionals: [name, version],
    } = positionals(argv, {}, 2, "<name> <version>");
    const { lineage: g } = await cli
      .server()
      .get<{ lineage: Lineage }>(`/api/v1/models/${enc(name)}/versions/${enc(version)}/lineage`);
    if (cli.json) {
      console.log(JSON.stringify(g, null, 2));
      return 0;
    }
    const label = new Map(g.nodes.map((n) => [n.id, `${n.type} ${n.label}`]));
    console.log(label.get(g.root));
    for (const e of g.edges) console.log(`  ${label.get(e.from)} --${e.relation}--> ${label.get(e.to)}`);
    for (const n of g.notes) console.log(`  note: ${n}`);
    return 0;
  },
});

const card = command({
  name: "model card",
  summary: "print or save a version's model card; set its intended use and limitations",
  flags: FLAGS,
  usage: "keel model card <name> <version> [--html] [--out FILE] [--intended-use TEXT] [--limitations TEXT]",
  async run(argv, cli) {
    const {
      values,
      positionals: [name, version],
    } = positionals(
      argv,
      {
        html: { type: "boolean", default: false },
        out: { type: "string" },
        "intended-use": { type: "string" },
        limitations: { type: "string" },
      },
      2,
      "<name> <version>",
    );
    const v = values as {
      html: boolean;
      out?: string;
      "intended-use"?: string;
      limitations?: string;
    };
    const server = cli.server();
    const path = `/api/v1/models/${enc(name)}/versions/${enc(version)}/card`;
    if (v["intended-use"] !== undefined || v.limitations !== undefined) {
      await server.request("PUT", path, { intended_use: v["intended-use"], limitations: v.limitations });
    }
    const text = await server.text(`${path}?format=${v.html ? "html" : "markdown"}`);
    if (v.out) {
      await writeFile(v.out, text);
      console.log(`wrote ${v.out}`);
    } else {
      process.stdout.write(text);
    }
    return 0;
  },
});

interface RegisteredModelView {
  name: string;
  last_updated_timestamp?: number;
  latest_versions?: Array<{ version: string; current_stage?: string }>;
  aliases?: Array<{ alias: string; version: string }>;
}

const modelsList = command({
  name: "models list",
  summary: "list registered models with their latest versions, stages and aliases",
  usage: "keel models list [--limit 1000] [--url http://localhost:5000] [--json]",
  flags: ["url", "json"],
  async run(argv, cli) {
    const { values } = parseArgs({ args: argv, options: { limit: { type: "string", default: "1000" } } });
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`--limit must be a positive integer, got ${values.limit}`);
    const server = cli.server();
    const models: RegisteredModelView[] = [];
    let token: string | undefined;
    do {
      const page = await server.get<{ registered_models?: RegisteredModelView[]; next_page_token?: string }>(
        "/api/2.0/mlflow/registered-models/search",
        { max_results: Math.min(limit - models.length, 1000), page_token: token },
      );
      models.push(...(page.registered_models ?? []));
      token = page.next_page_token;
    } while (token && models.length < limit);
    if (cli.json) {
      console.log(JSON.stringify(models, null, 2));
      return 0;
    }
    printTable(
      ["NAME", "LATEST", "STAGES", "ALIASES", "UPDATED"],
      models.map((m) => {
        const versions = m.latest_versions ?? [];
        const latest = versions.reduce((n, v) => Math.max(n, Number(v.version)), 0);
        return [
          m.name,
          latest ? `v${latest}` : "-",
          versions
            .filter((v) => v.current_stage && v.current_stage !== "None")
            .map((v) => `${v.current_stage}: v${v.version}`)
            .join(", ") || "-",
          (m.aliases ?? []).map((a) => `${a.alias}: v${a.version}`).join(", ") || "-",
          when(m.last_updated_timestamp),
        ];
      }),
    );
    return 0;
  },
});

export const modelCommands: Command[] = [
  modelsList,
  promote,
  decision("approve"),
  decision("reject"),
  policy,
  decision("approve", "policy change"),
  decision("reject", "policy change"),
  lineage,
  card,
];
