import { writeFile } from "node:fs/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { HttpTransport, KeelApiError } from "@keel/sdk";
import { type Command, UsageError } from "../command";

/**
 * `keel model ...`: governance from the command line, over Keel's HTTP API. `--as` names the
 * principal locally (the local platform trusts it; in AWS the identity comes from the token).
 */
const common = {
  url: { type: "string", default: "http://localhost:5000" },
  as: { type: "string" },
} as const;

function client(values: { url?: string; as?: string }) {
  return new HttpTransport({
    url: values.url ?? "http://localhost:5000",
    principal: values.as ?? process.env.USER,
  });
}

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

const promote: Command = {
  name: "model promote",
  summary: "request promotion of a version into a stage or alias (a second person approves)",
  usage:
    "keel model promote <name> <version> (--stage Production | --alias champion) [--comment C] [--archive-existing] [--as P]",
  async run(argv) {
    const {
      values,
      positionals: [name, version],
    } = positionals(
      argv,
      {
        ...common,
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
    const r = await client(values as { url?: string; as?: string }).post<{ promotion: Promotion }>(
      `/api/v1/models/${enc(name)}/versions/${enc(version)}/promotions`,
      {
        stage: values.stage,
        alias: values.alias,
        comment: values.comment,
        archive_existing_versions: values["archive-existing"],
      },
    );
    printPromotion(r.promotion);
    if (r.promotion.status === "PENDING")
      console.log(`  a different principal approves with: keel model approve ${r.promotion.id}`);
    return 0;
  },
};

function decision(verb: "approve" | "reject", kind: "promotion" | "policy change" = "promotion"): Command {
  const policy = kind === "policy change";
  return {
    name: policy ? `model policy-${verb}` : `model ${verb}`,
    summary:
      verb === "approve"
        ? `approve a ${kind} request (not your own) and apply it`
        : `reject a ${kind} request`,
    usage: `keel model ${policy ? "policy-" : ""}${verb} <request-id> [--comment C] [--as P]`,
    async run(argv) {
      const {
        values,
        positionals: [id],
      } = positionals(argv, { ...common, comment: { type: "string", default: "" } }, 1, "<request-id>");
      const http = client(values as { url?: string; as?: string });
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
  };
}

const policy: Command = {
  name: "model policy",
  summary: "show or set a model's promotion policy (protected stages/aliases, checks)",
  usage:
    "keel model policy <name> [--protect-stage S]... [--protect-alias A]... [--check 'auc >= 0.9' | --check model_card]...",
  async run(argv) {
    const {
      values,
      positionals: [name],
    } = positionals(
      argv,
      {
        ...common,
        "protect-stage": { type: "string", multiple: true },
        "protect-alias": { type: "string", multiple: true },
        check: { type: "string", multiple: true },
      },
      1,
      "<name>",
    );
    const http = client(values as { url?: string; as?: string });
    const path = `/api/v1/models/${enc(name)}/policy`;
    const change = {
      protected_stages: values["protect-stage"],
      protected_aliases: values["protect-alias"],
      checks: values.check,
    };
    const r = Object.values(change).some((v) => v !== undefined)
      ? await http.send<{ policy?: unknown; policy_change?: { id: string } }>("PUT", path, change)
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
};

interface Lineage {
  root: string;
  nodes: Array<{ id: string; type: string; label: string; attributes: Record<string, unknown> }>;
  edges: Array<{ from: string; to: string; relation: string }>;
  notes: string[];
}

const lineage: Command = {
  name: "model lineage",
  summary: "show where a model version came from: run, data, pipeline, approvals, deployments",
  usage: "keel model lineage <name> <version> [--json]",
  async run(argv) {
    const {
      values,
      positionals: [name, version],
    } = positionals(argv, { ...common, json: { type: "boolean", default: false } }, 2, "<name> <version>");
    const { lineage: g } = await client(values as { url?: string; as?: string }).get<{ lineage: Lineage }>(
      `/api/v1/models/${enc(name)}/versions/${enc(version)}/lineage`,
    );
    if (values.json) {
      console.log(JSON.stringify(g, null, 2));
      return 0;
    }
    const label = new Map(g.nodes.map((n) => [n.id, `${n.type} ${n.label}`]));
    console.log(label.get(g.root));
    for (const e of g.edges) console.log(`  ${label.get(e.from)} --${e.relation}--> ${label.get(e.to)}`);
    for (const n of g.notes) console.log(`  note: ${n}`);
    return 0;
  },
};

const card: Command = {
  name: "model card",
  summary: "print or save a version's model card; set its intended use and limitations",
  usage: "keel model card <name> <version> [--html] [--out FILE] [--intended-use TEXT] [--limitations TEXT]",
  async run(argv) {
    const {
      values,
      positionals: [name, version],
    } = positionals(
      argv,
      {
        ...common,
        html: { type: "boolean", default: false },
        out: { type: "string" },
        "intended-use": { type: "string" },
        limitations: { type: "string" },
      },
      2,
      "<name> <version>",
    );
    const v = values as {
      url: string;
      as?: string;
      html: boolean;
      out?: string;
      "intended-use"?: string;
      limitations?: string;
    };
    const path = `/api/v1/models/${enc(name)}/versions/${enc(version)}/card`;
    if (v["intended-use"] !== undefined || v.limitations !== undefined) {
      await client(v).send("PUT", path, { intended_use: v["intended-use"], limitations: v.limitations });
    }
    const res = await fetch(`${v.url.replace(/\/+$/, "")}${path}?format=${v.html ? "html" : "markdown"}`);
    const text = await res.text();
    if (!res.ok) {
      const err = JSON.parse(text) as { error_code: string; message: string };
      throw new KeelApiError(err.error_code, res.status, err.message);
    }
    if (v.out) {
      await writeFile(v.out, text);
      console.log(`wrote ${v.out}`);
    } else {
      process.stdout.write(text);
    }
    return 0;
  },
};

export const modelCommands: Command[] = [
  promote,
  decision("approve"),
  decision("reject"),
  policy,
  decision("approve", "policy change"),
  decision("reject", "policy change"),
  lineage,
  card,
];
