import { readFileSync, writeFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Cli } from "../client";
import { type Command, type CommandSpec, command, UsageError } from "../command";
import { printTable, when } from "../table";

/** `keel llm route|key|team|usage ...`: the LLM gateway's management API (/api/v1/llm). */
const FLAGS: CommandSpec["flags"] = ["url", "as", "json"];
const enc = encodeURIComponent;

interface Route {
  model: string;
  source?: string;
  deployments: Array<{
    id: string;
    provider: string;
    model: string;
    baseURL?: string;
    endpoint?: string;
    weight: number;
  }>;
  fallbacks: string[];
}
interface Key {
  id: string;
  name: string;
  team: string;
  hint: string;
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
  limits?: { rpm?: number; tpm?: number };
}

function parse(argv: string[], options: ParseArgsConfig["options"], names: string[]) {
  const parsed = parseArgs({ args: argv, options, allowPositionals: true });
  if (parsed.positionals.length !== names.length)
    throw new UsageError(
      names.length ? `expected ${names.map((n) => `<${n}>`).join(" ")}` : "expected no arguments",
    );
  return {
    values: parsed.values as Record<string, string | boolean | undefined>,
    positionals: parsed.positionals,
  };
}

const num = (v: string | boolean | undefined, flag: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${flag} must be a non-negative number`);
  return n;
};

function out(cli: Cli, value: unknown, human: () => void): number {
  if (cli.json) console.log(JSON.stringify(value, null, 2));
  else human();
  return 0;
}

const routeList = command({
  name: "llm route list",
  summary: "list the gateway's routes (model name -> deployments)",
  flags: FLAGS,
  usage: "keel llm route list [--json] [--url U]",
  async run(argv, cli) {
    parse(argv, {}, []);
    const { routes } = await cli.server().get<{ routes: Route[] }>("/api/v1/llm/routes");
    return out(cli, routes, () =>
      printTable(
        ["MODEL", "SOURCE", "DEPLOYMENTS", "FALLBACKS"],
        routes.map((r) => [
          r.model,
          r.source ?? "api",
          r.deployments
            .map((d) => `${d.id}=${d.provider}:${d.model}@${d.baseURL ?? d.endpoint ?? "aws"} (w${d.weight})`)
            .join(", "),
          r.fallbacks.join(",") || "-",
        ]),
      ),
    );
  },
});

const routeAdd = command({
  name: "llm route add",
  summary: "add or replace a route: one OpenAI-compatible, Bedrock or SageMaker deployment, or a JSON file",
  flags: FLAGS,
  usage:
    "keel llm route add <model> (--base-url <OpenAI-compatible URL, e.g. http://localhost:11434/v1> | --bedrock <model id> | --sagemaker <endpoint> | --file route.json) [--upstream-model M] [--api-key-env VAR] [--price-in USD/1k] [--price-out USD/1k] [--fallback m1,m2] [--timeout-ms N] [--cache-ttl S] [--guard block|redact|log] [--rpm N] [--tpm N]",
  async run(argv, cli) {
    const { values, positionals } = parse(
      argv,
      {
        "base-url": { type: "string" },
        bedrock: { type: "string" },
        sagemaker: { type: "string" },
        file: { type: "string" },
        "upstream-model": { type: "string" },
        "api-key-env": { type: "string" },
        "price-in": { type: "string" },
        "price-out": { type: "string" },
        fallback: { type: "string" },
        "timeout-ms": { type: "string" },
        "cache-ttl": { type: "string" },
        guard: { type: "string" },
        rpm: { type: "string" },
        tpm: { type: "string" },
      },
      ["model"],
    );
    const [model] = positionals;
    let route: Record<string, unknown>;
    if (values.file) route = JSON.parse(readFileSync(String(values.file), "utf8"));
    else {
      const kinds = ["base-url", "bedrock", "sagemaker"].filter((k) => values[k]);
      if (kinds.length !== 1)
        throw new UsageError("give one of --base-url, --bedrock, --sagemaker (or --file)");
      const upstream =
        (values["upstream-model"] as string | undefined) ?? (values.bedrock as string | undefined) ?? model;
      const deployment = {
        id: "default",
        provider: values["base-url"] ? "openai" : values.bedrock ? "bedrock" : "sagemaker",
        model: upstream,
        ...(values["base-url"] ? { baseURL: values["base-url"] } : {}),
        ...(values.sagemaker ? { endpoint: values.sagemaker } : {}),
        ...(values["api-key-env"] ? { apiKeyEnv: values["api-key-env"] } : {}),
        price: {
          input: num(values["price-in"], "price-in") ?? 0,
          output: num(values["price-out"], "price-out") ?? 0,
        },
      };
      const guard = values.guard as string | undefined;
      const rpm = num(values.rpm, "rpm");
      const tpm = num(values.tpm, "tpm");
      route = {
        deployments: [deployment],
        ...(values.fallback ? { fallbacks: String(values.fallback).split(",").filter(Boolean) } : {}),
        ...(values["timeout-ms"] ? { timeoutMs: num(values["timeout-ms"], "timeout-ms") } : {}),
        ...(values["cache-ttl"] ? { cache: { ttlSeconds: num(values["cache-ttl"], "cache-ttl") } } : {}),
        ...(guard ? { guardrails: { input: guard, output: guard } } : {}),
        ...(rpm || tpm ? { limits: { ...(rpm ? { rpm } : {}), ...(tpm ? { tpm } : {}) } } : {}),
      };
    }
    const saved = await cli.server().request<Route>("PUT", `/api/v1/llm/routes/${enc(model)}`, route);
    return out(cli, saved, () =>
      console.log(`route ${saved.model}: ${saved.deployments.map((d) => d.id).join(", ")}`),
    );
  },
});

const routeRemove = command({
  name: "llm route rm",
  summary: "delete a route",
  flags: FLAGS,
  usage: "keel llm route rm <model> [--url U]",
  async run(argv, cli) {
    const { positionals } = parse(argv, {}, ["model"]);
    await cli.server().request("DELETE", `/api/v1/llm/routes/${enc(positionals[0])}`);
    console.log(`deleted route ${positionals[0]}`);
    return 0;
  },
});

const keyCreate = command({
  name: "llm key create",
  summary: "create a virtual key for a team; prints the key (shown once) on the last line",
  flags: FLAGS,
  usage:
    "keel llm key create --team T --name N [--user U] [--models m1,m2] [--rpm N] [--tpm N] [--ttl-days D] [--url U]",
  async run(argv, cli) {
    const { values } = parse(
      argv,
      {
        team: { type: "string" },
        name: { type: "string" },
        user: { type: "string" },
        models: { type: "string" },
        rpm: { type: "string" },
        tpm: { type: "string" },
        "ttl-days": { type: "string" },
      },
      [],
    );
    if (!values.team || !values.name) throw new UsageError("--team and --name are required");
    const rpm = num(values.rpm, "rpm");
    const tpm = num(values.tpm, "tpm");
    const res = await cli.server().post<{ key: string; record: Key }>("/api/v1/llm/keys", {
      team: values.team,
      name: values.name,
      ...(values.user ? { user: values.user } : {}),
      ...(values.models ? { models: String(values.models).split(",").filter(Boolean) } : {}),
      ...(rpm || tpm ? { limits: { ...(rpm ? { rpm } : {}), ...(tpm ? { tpm } : {}) } } : {}),
      ...(values["ttl-days"] ? { ttlDays: num(values["ttl-days"], "ttl-days") } : {}),
    });
    return out(cli, res, () => {
      console.log(`created ${res.record.id} for team ${res.record.team}; the key is shown once:`);
      console.log(res.key);
    });
  },
});

const keyList = command({
  name: "llm key list",
  summary: "list virtual keys (never their secrets)",
  flags: FLAGS,
  usage: "keel llm key list [--team T] [--url U]",
  async run(argv, cli) {
    const { values } = parse(argv, { team: { type: "string" } }, []);
    const { keys } = await cli
      .server()
      .get<{ keys: Key[] }>("/api/v1/llm/keys", values.team ? { team: String(values.team) } : {});
    return out(cli, keys, () =>
      printTable(
        ["ID", "NAME", "TEAM", "KEY", "CREATED", "EXPIRES", "STATE"],
        keys.map((k) => [
          k.id,
          k.name,
          k.team,
          k.hint,
          when(k.createdAt),
          when(k.expiresAt),
          k.revokedAt
            ? `revoked ${when(k.revokedAt)}`
            : k.expiresAt && k.expiresAt < Date.now()
              ? "expired"
              : "active",
        ]),
      ),
    );
  },
});

const keyRevoke = command({
  name: "llm key revoke",
  summary: "revoke a virtual key",
  flags: FLAGS,
  usage: "keel llm key revoke <key id> [--url U]",
  async run(argv, cli) {
    const { positionals } = parse(argv, {}, ["id"]);
    await cli.server().post(`/api/v1/llm/keys/${enc(positionals[0])}/revoke`, {});
    console.log(`revoked ${positionals[0]}`);
    return 0;
  },
});

const teamSet = command({
  name: "llm team set",
  summary: "set a team's rate limits and budget",
  flags: FLAGS,
  usage:
    "keel llm team set <team> [--rpm N] [--tpm N] [--budget USD --period day|month --alerts 0.5,0.8 --soft] [--url U]",
  async run(argv, cli) {
    const { values, positionals } = parse(
      argv,
      {
        rpm: { type: "string" },
        tpm: { type: "string" },
        budget: { type: "string" },
        period: { type: "string" },
        alerts: { type: "string" },
        soft: { type: "boolean" },
      },
      ["team"],
    );
    const rpm = num(values.rpm, "rpm");
    const tpm = num(values.tpm, "tpm");
    const body = {
      ...(rpm || tpm ? { limits: { ...(rpm ? { rpm } : {}), ...(tpm ? { tpm } : {}) } } : {}),
      ...(values.budget
        ? {
            budget: {
              amount: num(values.budget, "budget"),
              ...(values.period ? { period: values.period } : {}),
              ...(values.alerts ? { alerts: String(values.alerts).split(",").map(Number) } : {}),
              hardStop: !values.soft,
            },
          }
        : {}),
    };
    const saved = await cli.server().request("PUT", `/api/v1/llm/teams/${enc(positionals[0])}`, body);
    return out(cli, saved, () => console.log(`team ${positionals[0]}: ${JSON.stringify(saved)}`));
  },
});

const usage = command({
  name: "llm usage",
  summary:
    "usage and cost per team and model (--log: the requests, newest first; --by-variant: per route deployment, with feedback)",
  flags: FLAGS,
  usage:
    "keel llm usage [--team T] [--since <ISO time or ms>] [--log [--limit N]] [--by-variant [--model M]] [--json] [--url U]",
  async run(argv, cli) {
    const { values } = parse(
      argv,
      {
        team: { type: "string" },
        since: { type: "string" },
        log: { type: "boolean" },
        limit: { type: "string" },
        "by-variant": { type: "boolean" },
        model: { type: "string" },
      },
      [],
    );
    const since = values.since
      ? /^\d+$/.test(String(values.since))
        ? Number(values.since)
        : Date.parse(String(values.since))
      : undefined;
    if (since !== undefined && !Number.isFinite(since))
      throw new UsageError("--since must be an ISO time or epoch ms");
    const query: Record<string, string> = {
      ...(values.team ? { team: String(values.team) } : {}),
      ...(since !== undefined ? { from: String(since) } : {}),
      ...(values.limit ? { limit: String(values.limit) } : {}),
    };
    const client = cli.server();
    if (values["by-variant"])
      return variantUsage(cli, { ...query, ...(values.model ? { model: String(values.model) } : {}) });
    if (values.log) {
      const { usage: rows } = await client.get<{ usage: Array<Record<string, unknown>> }>(
        "/api/v1/llm/usage",
        query,
      );
      return out(cli, rows, () =>
        printTable(
          ["TIME", "TEAM", "KEY", "MODEL", "IN", "OUT", "COST", "MS", "TTFT", "CACHE", "STATUS"],
          rows.map((r) => [
            when(r.time as number),
            String(r.team),
            String(r.key ?? r.principal),
            String(r.model),
            String(r.tokensIn),
            String(r.tokensOut),
            (r.cost as number).toFixed(6),
            (r.latencyMs as number).toFixed(1),
            r.ttftMs === undefined ? "-" : (r.ttftMs as number).toFixed(1),
            r.cacheHit ? "hit" : "-",
            String(r.status),
          ]),
        ),
      );
    }
    const { summary } = await client.get<{ summary: Array<Record<string, number | string>> }>(
      "/api/v1/llm/usage/summary",
      query,
    );
    return out(cli, summary, () =>
      printTable(
        [
          "TEAM",
          "MODEL",
          "REQUESTS",
          "ERRORS",
          "CACHE HITS",
          "TOKENS IN",
          "TOKENS OUT",
          "COST USD",
          "AVG MS",
          "AVG TTFT",
        ],
        summary.map((r) => [
          String(r.team),
          String(r.model),
          String(r.requests),
          String(r.errors),
          String(r.cacheHits),
          String(r.tokensIn),
          String(r.tokensOut),
          Number(r.cost).toFixed(6),
          Number(r.avgLatencyMs).toFixed(1),
          r.avgTtftMs === undefined ? "-" : Number(r.avgTtftMs).toFixed(1),
        ]),
      ),
    );
  },
});

/** `keel llm usage --by-variant`: per route and deployment (A/B variant), with feedback. */
async function variantUsage(cli: Cli, query: Record<string, string>) {
  const { limit: _, ...q } = query;
  const { variants } = await cli
    .server()
    .get<{ variants: Array<Record<string, number | string>> }>("/api/v1/llm/usage/variants", q);
  return out(cli, variants, () =>
    printTable(
      [
        "MODEL",
        "DEPLOYMENT",
        "REQUESTS",
        "ERROR RATE",
        "TOKENS IN",
        "TOKENS OUT",
        "COST USD",
        "P50 MS",
        "FEEDBACK",
        "MEAN SCORE",
      ],
      variants.map((r) => [
        String(r.model),
        String(r.deployment),
        String(r.requests),
        Number(r.errorRate).toFixed(3),
        String(r.tokensIn),
        String(r.tokensOut),
        Number(r.cost).toFixed(6),
        Number(r.latencyP50Ms).toFixed(1),
        String(r.feedbackCount),
        r.feedbackMean === undefined ? "-" : Number(r.feedbackMean).toFixed(3),
      ]),
    ),
  );
}

const usageExport = command({
  name: "llm usage export",
  summary: "the usage log of a time range as one Parquet file (no prompt text)",
  flags: FLAGS,
  usage:
    "keel llm usage export --out <file.parquet> [--from <ISO time or ms>] [--to <ISO time or ms>] [--team T] [--url U]",
  async run(argv, cli) {
    const { values } = parse(
      argv,
      { out: { type: "string" }, from: { type: "string" }, to: { type: "string" }, team: { type: "string" } },
      [],
    );
    if (!values.out) throw new UsageError("--out <file.parquet> is required");
    const query = new URLSearchParams({
      ...(values.team ? { team: String(values.team) } : {}),
      ...(values.from ? { from: String(instant(values.from, "from")) } : {}),
      ...(values.to ? { to: String(instant(values.to, "to")) } : {}),
    });
    const bytes = await cli.server().bytes(`/api/v1/llm/usage/export?${query}`);
    writeFileSync(String(values.out), bytes);
    return out(cli, { out: values.out, bytes: bytes.length }, () =>
      console.log(`wrote ${bytes.length} bytes of Parquet to ${values.out}`),
    );
  },
});

/** An ISO time or epoch milliseconds. */
function instant(v: string | boolean, flag: string): number {
  const s = String(v);
  const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(ms)) throw new UsageError(`--${flag} must be an ISO time or epoch ms`);
  return ms;
}

export const llmCommands: Command[] = [
  usageExport,
  routeList,
  routeAdd,
  routeRemove,
  keyCreate,
  keyList,
  keyRevoke,
  teamSet,
  usage,
];
