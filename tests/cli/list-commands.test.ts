import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { keel, REPO_ROOT } from "./keel";

type Platform = Awaited<ReturnType<typeof startTestPlatform>>;
let p: Platform;

async function ok(method: string, path: string, body?: unknown) {
  const r = await p.call(method, `/api/2.0/mlflow${path}`, body);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

async function run(experimentId: string, name: string, auc: number): Promise<string> {
  const { run } = await ok("POST", "/runs/create", {
    experiment_id: experimentId,
    run_name: name,
    start_time: Date.now(),
  });
  await ok("POST", "/runs/log-metric", {
    run_id: run.info.run_id,
    key: "auc",
    value: auc,
    timestamp: Date.now(),
  });
  return run.info.run_id;
}

let good: string;
let weak: string;
let other: string;

beforeAll(async () => {
  p = await startTestPlatform();
  const { experiment_id: fraud } = await ok("POST", "/experiments/create", { name: "cli-fraud" });
  const { experiment_id: churn } = await ok("POST", "/experiments/create", { name: "cli-churn" });
  good = await run(fraud, "good-run", 0.95);
  weak = await run(fraud, "weak-run", 0.7);
  other = await run(churn, "churn-run", 0.99);
  await ok("POST", "/registered-models/create", { name: "cli-listed-model" });
  await ok("POST", "/model-versions/create", {
    name: "cli-listed-model",
    source: `runs:/${good}/model`,
    run_id: good,
  });
  await ok("POST", "/registered-models/alias", {
    name: "cli-listed-model",
    alias: "candidate",
    version: "1",
  });
});
afterAll(async () => {
  await p?.close();
});

describe("keel experiments|runs|models list", () => {
  it("lists experiments as a table and as JSON", async () => {
    const table = await keel(["experiments", "list", "--url", p.url]);
    expect(table.code).toBe(0);
    const lines = table.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STAGE\s+CREATED$/);
    expect(lines.some((l) => /\bcli-fraud\s+active\s/.test(l))).toBe(true);
    expect(lines.some((l) => /\bcli-churn\s+active\s/.test(l))).toBe(true);

    const json = await keel(["experiments", "list", "--json", "--url", p.url]);
    expect(json.code).toBe(0);
    const names = (JSON.parse(json.out) as Array<{ name: string }>).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(["cli-fraud", "cli-churn"]));
  });

  it("lists runs of one experiment (by name) with an MLflow filter, and of all experiments", async () => {
    const filtered = await keel([
      "runs",
      "list",
      "--experiment",
      "cli-fraud",
      "--filter",
      "metrics.auc > 0.9",
      "--json",
      "--url",
      p.url,
    ]);
    expect(filtered.code).toBe(0);
    const ids = (JSON.parse(filtered.out) as Array<{ info: { run_id: string } }>).map((r) => r.info.run_id);
    expect(ids).toEqual([good]);

    const all = await keel(["runs", "list", "--url", p.url]);
    expect(all.code).toBe(0);
    expect(all.out.split("\n")[0]).toMatch(/^RUN ID\s+EXPERIMENT\s+NAME\s+STATUS\s+STARTED\s+METRICS$/);
    for (const id of [good, weak, other]) expect(all.out).toContain(id);
    expect(all.out).toMatch(new RegExp(`${weak}\\s+cli-fraud\\s+weak-run\\s+RUNNING\\s+\\S+\\s+auc=0.7`));

    const missing = await keel(["runs", "list", "--experiment", "no-such-experiment", "--url", p.url]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("no experiment named or numbered 'no-such-experiment'");
  });

  it("lists registered models with their latest version and aliases", async () => {
    const table = await keel(["models", "list", "--url", p.url]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^NAME\s+LATEST\s+STAGES\s+ALIASES\s+UPDATED/);
    expect(table.out).toMatch(/cli-listed-model\s+v1\s+-\s+candidate: v1\s/);

    const json = await keel(["models", "list", "--json", "--url", p.url]);
    const model = (JSON.parse(json.out) as Array<{ name: string; aliases: unknown }>).find(
      (m) => m.name === "cli-listed-model",
    );
    expect(model?.aliases).toEqual([{ alias: "candidate", version: "1" }]);
  });

  it("reports a server's error answer as one line with its code and what to do", async () => {
    const r = await keel(["deploy", "status", "no-such-deployment", "--url", p.url]);
    expect(r.code).toBe(1);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(
      /^keel: deploy status: .*no-such-deployment.* \(RESOURCE_DOES_NOT_EXIST\)\. Check the names you passed\n$/,
    );
  });

  it("prints its version and lists the new commands in --help", async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "packages/cli/package.json"), "utf8"));
    const v = await keel(["--version"]);
    expect(v.code).toBe(0);
    expect(v.out.trim()).toBe(version);
    const help = await keel(["--help"]);
    expect(help.code).toBe(0);
    for (const name of ["experiments list", "runs list", "models list", "dev", "pipeline run"])
      expect(help.out).toMatch(new RegExp(`keel ${name}\\s{2,}\\S`));
    expect(help.out).toContain("--version");
  });
});
