import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BodyStore } from "@keel/llm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readParquetRows } from "../features/helpers/parquet";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

/**
 * The gateway's operations data, tried as a hostile caller would: usage in Parquet (DuckDB reads
 * it back; no prompt text in it), prompts stored only where a route asks, always redacted even
 * when the guardrail only logs, readable only by the team's owners and admins (audited), gone
 * after their retention, and calls as MLflow traces.
 */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let fake: FakeOpenAI;
const tokens: Record<string, string> = {};
const keys: Record<string, string> = {};
const CARD = "4111 1111 1111 1111";
const CARD_RE = /4111[ -]?1111[ -]?1111[ -]?1111/;

const as = (user: string) => ({ authorization: `Bearer ${tokens[user]}` });
const client = (apiKey: string) => new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey, maxRetries: 0 });
const ask = (text: string) => [{ role: "user" as const, content: text }];

beforeAll(async () => {
  fake = await startFakeOpenAI({
    reply: (b) => (String(b.messages.at(-1)?.content).includes("card") ? `Noted card ${CARD}.` : "Hello."),
  });
  p = await startTestPlatform({ auth: "users", config: { http: { maxInFlight: 0 } } });
  for (const [name, role] of [
    ["ada", "admin"],
    ["owen", "data-scientist"],
    ["bea", "data-scientist"],
  ] as const)
    tokens[name] = (await p.platform.access.users.add(name, [role])).token;
  const put = async (path: string, body: unknown) => {
    const res = await p.call("PUT", path, body, as("ada"));
    expect(res.status, res.text).toBe(200);
  };
  const deployment = { id: "d", provider: "openai", model: "fake-chat", baseURL: fake.baseURL };
  await put("/api/v1/llm/routes/stored", {
    deployments: [deployment],
    guardrails: { input: "log", output: "log" },
    store: { prompts: true, retentionDays: 1 },
    trace: { experiment: "gateway-calls" },
  });
  await put("/api/v1/llm/routes/plain", { deployments: [deployment] });
  await put("/api/v1/llm/teams/alpha", { owners: ["owen"] });
  await put("/api/v1/llm/teams/beta", { owners: ["bea"] });
  for (const team of ["alpha", "beta"]) {
    const res = await p.call("POST", "/api/v1/llm/keys", { name: team, team }, as("ada"));
    expect(res.status, res.text).toBe(201);
    keys[team] = res.json.key;
  }
});
afterAll(async () => {
  await p?.close();
  await fake?.close();
});

describe("stored prompts", () => {
  it("stores a route's bodies redacted even when its guardrail only logs (streamed answers too)", async () => {
    const a = client(keys.alpha);
    const res = await a.chat.completions.create({ model: "stored", messages: ask(`my card is ${CARD}`) });
    // The guardrail is in `log` mode: the caller sees the answer as the model wrote it.
    expect(res.choices[0].message.content).toContain(CARD);
    const stream = await a.chat.completions.create({
      model: "stored",
      messages: ask(`card ${CARD} again`),
      stream: true,
    });
    for await (const _ of stream);
    await a.chat.completions.create({ model: "plain", messages: ask(`plain route, card ${CARD}`) });
    await client(keys.beta).chat.completions.create({
      model: "stored",
      messages: ask("beta's own question"),
    });

    const list = await p.call("GET", "/api/v1/llm/bodies/alpha", undefined, as("owen"));
    expect(list.status, list.text).toBe(200);
    expect(list.json.bodies).toHaveLength(2);
    expect(list.json.bodies.every((b: { model: string }) => b.model === "stored")).toBe(true);
    expect(list.text).not.toMatch(CARD_RE);
    expect(list.text).toContain("[REDACTED:card]");
    const stored = JSON.stringify(await p.platform.deps.store.queryAll({ pk: "llm#bodies#alpha" }));
    expect(stored).not.toMatch(CARD_RE);
  });

  it("a route without the flag stores nothing", async () => {
    const all = await p.platform.deps.store.queryAll({ pk: "llm#bodies#alpha" });
    expect(all.map((i) => (i.body as { model: string }).model)).not.toContain("plain");
  });

  it("refuses another team's owner and a non-owner; admins read; every read is audited", async () => {
    const bea = await p.call("GET", "/api/v1/llm/bodies/alpha", undefined, as("bea"));
    expect(bea.status).toBe(403);
    expect(bea.text).not.toMatch(CARD_RE);
    const ownBeta = await p.call("GET", "/api/v1/llm/bodies/beta", undefined, as("bea"));
    expect(ownBeta.json.bodies).toHaveLength(1);
    const owenOnBeta = await p.call("GET", "/api/v1/llm/bodies/beta", undefined, as("owen"));
    expect(owenOnBeta.status).toBe(403);
    const ada = await p.call("GET", "/api/v1/llm/bodies/alpha", undefined, as("ada"));
    expect(ada.json.bodies).toHaveLength(2);
    // A virtual key (the team's own application) is no reader either.
    const key = await p.call("GET", "/api/v1/llm/bodies/alpha", undefined, {
      authorization: `Bearer ${keys.alpha}`,
    });
    expect(key.status).toBeGreaterThanOrEqual(401);
    expect(key.status).toBeLessThan(404);
    const audit = await p.call("GET", "/api/v1/audit?action=llm.bodies.read", undefined, as("ada"));
    const readers = audit.json.events.map((e: { principal: string; resource: string }) => [
      e.principal,
      e.resource,
    ]);
    expect(readers).toEqual(
      expect.arrayContaining([
        ["owen", "llm-team:alpha"],
        ["bea", "llm-team:beta"],
        ["ada", "llm-team:alpha"],
      ]),
    );
    expect(readers).not.toContainEqual(["bea", "llm-team:alpha"]);
  });
});

describe("usage in Parquet", () => {
  it("lands in date partitions that DuckDB reads, with the usage columns and no prompt text", async () => {
    await p.platform.services.llm.usage.flush();
    await p.platform.services.llm.usage.parquet?.flush();
    const root = p.platform.deps.config.artifacts.root;
    const rows = await readParquetRows(join(root, "llm/usage/date=*/part-*.parquet"));
    expect(rows?.length).toBe(4);
    const today = new Date().toISOString().slice(0, 10);
    for (const r of rows ?? []) {
      // DuckDB reads the hive partition (`date=`) as a DATE column.
      expect(new Date(r.date as string).toISOString().slice(0, 10)).toBe(today);
      expect(r).toMatchObject({ status: 200, cache_hit: false });
      expect(["alpha", "beta"]).toContain(r.team);
      expect(Number(r.tokens_in)).toBeGreaterThan(0);
    }
    expect(Object.keys(rows?.[0] ?? {})).toEqual(
      expect.arrayContaining([
        "time",
        "team",
        "model",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "latency_ms",
        "ttft_ms",
      ]),
    );
    // Redactions are counts by kind ({"card":1}); never the text around them.
    expect(JSON.stringify(rows)).not.toMatch(/4111|REDACTED|my card|again/);
    expect(rows?.some((r) => JSON.parse(String(r.redactions)).card)).toBe(true);
  });

  it("exports a time range as one Parquet file through the API", async () => {
    const res = await fetch(`${p.url}/api/v1/llm/usage/export?team=alpha&from=0&to=${Date.now() + 1000}`, {
      headers: as("ada"),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.apache.parquet");
    const file = join(tmpdir(), `keel-usage-${process.pid}.parquet`);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const rows = await readParquetRows(file);
    expect(rows?.map((r) => r.model).sort()).toEqual(["plain", "stored", "stored"]);
    expect(rows?.every((r) => r.team === "alpha")).toBe(true);
  });
});

describe("MLflow traces", () => {
  it("records a traced route's call as a trace with a span, usage and redacted inputs", async () => {
    const exp = await p.call(
      "GET",
      "/api/2.0/mlflow/experiments/get-by-name?experiment_name=gateway-calls",
      undefined,
      as("ada"),
    );
    expect(exp.status, exp.text).toBe(200);
    const experimentId = exp.json.experiment.experiment_id;
    let traces: Array<{ trace_id: string; state: string; trace_metadata: Record<string, string> }> = [];
    for (let i = 0; i < 50 && traces.length < 3; i++) {
      const found = await p.call(
        "POST",
        "/api/3.0/mlflow/traces/search",
        { locations: [{ type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: experimentId } }] },
        as("ada"),
      );
      traces = found.json.traces ?? [];
      if (traces.length < 3) await new Promise((r) => setTimeout(r, 20));
    }
    // alpha's two calls and beta's one on the traced route; none for the plain route.
    expect(traces).toHaveLength(3);
    const info = traces.find((t) => t.trace_metadata["keel.llm.team"] === "alpha");
    expect(info).toMatchObject({ state: "OK" });
    expect(info?.trace_metadata["keel.llm.model"]).toBe("stored");
    expect(info?.trace_metadata["keel.llm.deployment"]).toBe("d");
    expect(JSON.parse(info?.trace_metadata["mlflow.trace.tokenUsage"] ?? "{}").input_tokens).toBeGreaterThan(
      0,
    );
    const data = (
      await p.call(
        "GET",
        `/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${info?.trace_id}`,
        undefined,
        as("ada"),
      )
    ).text;
    expect(JSON.parse(data).spans).toHaveLength(1);
    expect(data).not.toMatch(CARD_RE);
    expect(JSON.stringify(traces)).not.toMatch(CARD_RE);
  });
});

describe("retention", () => {
  it("purges expired bodies: after their retention they are gone from the store", async () => {
    const llm = p.platform.services.llm;
    const later = new BodyStore(
      p.platform.deps.store,
      p.platform.deps.audit,
      { now: () => Date.now() + 2 * 86_400_000 },
      llm.teams,
    );
    expect(await later.purge()).toBe(3);
    expect(await p.platform.deps.store.queryAll({ pk: "llm#bodies#alpha" })).toHaveLength(0);
    const list = await p.call("GET", "/api/v1/llm/bodies/alpha", undefined, as("owen"));
    expect(list.json.bodies).toHaveLength(0);
  });
});
