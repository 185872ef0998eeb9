import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { USER_STATS_URI, userTransactionStats } from "../features/definitions";
import { type FraudPipelineParams, fraudPipeline, offlinePath } from "../pipeline";
import { computeUserFeatures, USER_FEATURES } from "./compute-features";
import { ExampleError } from "./errors";
import { generateTransactions, writeTransactionsParquet } from "./generate";
import { KeelApi } from "./keel-api";

/** The progress display the quickstart reports to (the CLI's `createProgress()` fits). */
export interface QuickstartProgress {
  task<T>(
    title: string,
    fn: (update: (detail: string) => void) => Promise<T>,
    summarize?: (r: T) => string,
  ): Promise<T>;
  info(line: string): void;
}

export interface QuickstartOptions {
  /** The running platform. */
  url: string;
  /** The platform's data directory: the example's files and its completion marker live under it. */
  dataDir: string;
  /** The offline store's root (KEEL_OFFLINE_ROOT; `<dataDir>/offline` by default). */
  offlineRoot: string;
  progress: QuickstartProgress;
  /**
   * Registers the pipelines a file exports, in the platform's process (the platform never
   * imports a path sent over HTTP): `platform.services.pipelines.registerFile`.
   */
  registerPipelines(file: string): Promise<string[]>;
  users?: number;
  days?: number;
  /** Days of shifted traffic after the training period. */
  shiftDays?: number;
  /** The clock the data is laid out against (the history ends `shiftDays` before today). */
  now?: number;
}

const DAY = 86_400_000;
const MODEL = "fraud";
const DEPLOYMENT = "fraud";
const BATCH = 10;

const stepSchema = z.object({
  step: z.string(),
  status: z.string(),
  startTime: z.number().nullish(),
  endTime: z.number().nullish(),
  output: z.unknown().optional(),
  error: z.string().nullish(),
  cause: z.string().nullish(),
});
const runSchema = z.object({
  runId: z.string(),
  status: z.string(),
  error: z.string().nullish(),
  cause: z.string().nullish(),
});
type StepRecord = z.infer<typeof stepSchema>;

const summarySchema = z.object({
  completedAt: z.string(),
  transactions: z.number(),
  frauds: z.number(),
  users: z.number(),
  runs: z.array(
    z.object({
      runId: z.string(),
      algorithm: z.string(),
      auc: z.number(),
      version: z.string(),
      mode: z.string(),
    }),
  ),
  model: z.string(),
  version: z.string(),
  deployment: z.string(),
  promotion: z.object({ id: z.string(), autoApproved: z.boolean(), reviewer: z.string().nullable() }),
  scored: z.number(),
  explained: z.object({
    user: z.string(),
    score: z.number(),
    top: z.array(z.object({ feature: z.string(), contribution: z.number() })),
  }),
  drift: z.object({
    status: z.string(),
    reportId: z.string(),
    rows: z.number(),
    features: z.array(z.object({ name: z.string(), psi: z.number(), status: z.string() })),
  }),
});
export type QuickstartSummary = z.infer<typeof summarySchema>;

/** Where the example keeps its files inside a data directory. */
export const exampleDir = (dataDir: string) => join(resolve(dataDir), "examples", "fraud-detection");
const markerPath = (dataDir: string) => join(exampleDir(dataDir), "quickstart.json");

/** The summary of an earlier completed quickstart in this data directory, if there is one. */
export function completedQuickstart(dataDir: string): QuickstartSummary | undefined {
  const file = markerPath(dataDir);
  if (!existsSync(file)) return undefined;
  const parsed = summarySchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  return parsed.success ? parsed.data : undefined;
}

/**
 * Runs the whole quickstart against a running platform: transactions -> the training
 * pipeline twice (a logistic-regression baseline that creates the deployment, then trees that
 * go out as a canary and are promoted) -> live scoring through the router with online
 * features -> explanations -> a shifted batch of traffic -> the drift report. Writes a marker
 * with the summary when everything succeeded, so a second start only prints it.
 */
export async function runQuickstart(o: QuickstartOptions): Promise<QuickstartSummary> {
  const keel = new KeelApi(o.url);
  const { progress } = o;
  const users = o.users ?? 1000;
  const days = o.days ?? 40;
  const shiftDays = o.shiftDays ?? 7;
  const dir = exampleDir(o.dataDir);
  mkdirSync(dir, { recursive: true });
  // The history ends shiftDays before today and the shifted week fills the gap, so the online
  // values are all within the feature view's 30-day ttl when they are served.
  const shiftStart = Math.floor((o.now ?? Date.now()) / DAY) * DAY - shiftDays * DAY;
  const transactions = join(dir, "transactions.parquet");

  const history = await progress.task(
    "Generate card transactions",
    async () => {
      const rows = generateTransactions({ seed: 42, users, days, start: new Date(shiftStart - days * DAY) });
      writeTransactionsParquet(transactions, rows);
      return { rows: rows.length, frauds: rows.filter((r) => r.is_fraud === 1).length };
    },
    (r) =>
      `${fmt(r.rows)} transactions of ${fmt(users)} users over ${days} days, ${fmt(r.frauds)} fraudulent`,
  );

  await progress.task(
    "Register the training pipeline",
    () => o.registerPipelines(pipelineFile()),
    () => `${fraudPipeline.name}: ${fraudPipeline.steps.map((s) => s.name).join(" → ")}`,
  );

  const base: FraudPipelineParams = {
    keelUrl: o.url,
    transactions,
    workDir: dir,
    offlineRoot: o.offlineRoot,
    algorithm: "logistic",
    minAuc: 0.8,
    model: MODEL,
    deployment: DEPLOYMENT,
    canaryWeight: 10,
    seed: 7,
  };
  const runs: QuickstartSummary["runs"] = [];
  let promotion: QuickstartSummary["promotion"] | undefined;
  for (const [algorithm, title] of [
    ["logistic", "Pipeline run 1: logistic-regression baseline (creates the deployment)"],
    ["gbdt", "Pipeline run 2: gradient-boosted trees (10% canary, then 100%)"],
  ] as const) {
    const { runId, steps } = await progress.task(
      title,
      (update) => runPipeline(keel, { ...base, algorithm }, update),
      ({ steps: s }) => {
        const ev = output(s, "evaluate");
        const dep = output(s, "deploy_canary");
        return `AUC ${Number(ev.auc).toFixed(3)}, ${MODEL} v${dep.version} ${dep.mode === "canary" ? "canary → promoted to 100%" : "serving 100%"}`;
      },
    );
    for (const s of steps) progress.info(`      ${stepLine(s)}`);
    const p = output(steps, "request_promotion");
    promotion = {
      id: String(p.promotionId),
      autoApproved: p.autoApproved === true,
      reviewer: (p.reviewer as string) ?? null,
    };
    runs.push({
      runId,
      algorithm,
      auc: Number(output(steps, "evaluate").auc),
      version: String(output(steps, "register").version),
      mode: String(output(steps, "deploy_canary").mode),
    });
  }
  const serving = runs[runs.length - 1];
  if (!promotion) throw new ExampleError("INTERNAL_ERROR", "the pipeline ran no promotion");

  const ids = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => `u${String(from + i).padStart(5, "0")}`);
  const normal = await progress.task(
    "Score live traffic through the router (features from the online store)",
    // A quarter of the users before the shift; the shifted batch scores every user, so it
    // dominates the drift window as a new regime would.
    (update) => scoreUsers(keel, ids(0, Math.ceil(users / 4)), update),
    (r) =>
      `${fmt(r.scores.size)} users scored by ${r.served}; highest risk ${r.top.user} (${r.top.score.toFixed(3)})`,
  );

  const explained = await progress.task(
    "Explain the riskiest decision (TreeSHAP)",
    () => explain(keel, normal.top.user, normal.top.score),
    (e) =>
      `${e.user}: ${e.top.map((t) => `${t.feature} ${t.contribution >= 0 ? "+" : ""}${t.contribution.toFixed(2)}`).join(", ")}`,
  );

  const shifted = await progress.task(
    "A shifted week of traffic arrives (amounts ×1.8, more purchases)",
    async (update) => {
      const rows = generateTransactions({
        seed: 4242,
        users,
        days: shiftDays,
        shift: 1.8,
        start: new Date(shiftStart),
      });
      const file = join(dir, "transactions-shifted.parquet");
      writeTransactionsParquet(file, rows);
      update("computing features");
      const out = join(offlinePath(o.offlineRoot, USER_STATS_URI), "shifted-batch.parquet");
      await computeUserFeatures([transactions, file], out, { since: new Date(shiftStart) });
      update("materializing");
      // A full run: the week's events are older than the view's watermark (they arrive late, as
      // a backfill would), and online writes never replace a newer value, so this is safe.
      await keel.call("POST", "/api/v1/features/materialize", { views: [userTransactionStats.name] });
      const scored = await scoreUsers(keel, ids(0, users), update);
      return { rows: rows.length, scored: scored.scores.size };
    },
    (r) => `${fmt(r.rows)} transactions; ${fmt(r.scored)} users scored with their new features`,
  );

  const drift = await progress.task(
    "Drift report",
    async () => {
      const r = await keel.call<{
        id: string;
        status: string;
        rows: number;
        features: Array<{ name: string; psi: number; status: string }>;
      }>("POST", `/api/v1/monitoring/deployments/${DEPLOYMENT}/drift`, { window: "1h" });
      return {
        status: r.status,
        reportId: r.id,
        rows: r.rows,
        features: r.features.map((f) => ({ name: f.name, psi: f.psi, status: f.status })),
      };
    },
    (d) =>
      `status ${d.status.toUpperCase()} over ${fmt(d.rows)} logged rows: ${d.features.map((f) => `${f.name} PSI ${f.psi.toFixed(2)}`).join(", ")}`,
  );

  const summary: QuickstartSummary = {
    completedAt: new Date().toISOString(),
    transactions: history.rows,
    frauds: history.frauds,
    users,
    runs,
    model: MODEL,
    version: serving.version,
    deployment: DEPLOYMENT,
    promotion,
    scored: normal.scores.size + shifted.scored,
    explained,
    drift,
  };
  writeFileSync(markerPath(o.dataDir), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/** The pipeline definition's file, which the platform imports when it is registered. */
function pipelineFile(): string {
  return resolve(import.meta.dirname, "..", "pipeline.ts");
}

/** Starts a run and follows it, reporting the running steps; throws naming the failed step. */
async function runPipeline(
  keel: KeelApi,
  params: FraudPipelineParams,
  update: (detail: string) => void,
): Promise<{ runId: string; steps: StepRecord[] }> {
  const started = await keel.call<{ run: unknown }>("POST", `/api/v1/pipelines/${fraudPipeline.name}/runs`, {
    params,
  });
  const { runId } = runSchema.parse(started.run);
  let shown = "";
  for (;;) {
    const got = await keel.call<{ run: unknown; steps: unknown[] }>("GET", `/api/v1/pipelines/runs/${runId}`);
    const run = runSchema.parse(got.run);
    const steps = got.steps.map((s) => stepSchema.parse(s));
    const running = steps.filter((s) => s.status === "RUNNING").map((s) => s.step);
    const detail = running.length
      ? `${running.join(", ")} (${steps.length - running.length} steps done)`
      : "";
    if (detail && detail !== shown) update(detail);
    shown = detail || shown;
    if (run.status !== "RUNNING") {
      if (run.status !== "SUCCEEDED") {
        const failed = steps.find((s) => s.status === "FAILED");
        throw new ExampleError(
          "INTERNAL_ERROR",
          `pipeline run ${runId} ${run.status}${failed ? ` at step ${failed.step}: ${failed.cause ?? failed.error}` : `: ${run.cause ?? run.error ?? ""}`}`,
        );
      }
      const skipped = steps.find((s) => s.step === "register" && s.status === "SKIPPED");
      if (skipped) {
        const ev = output(steps, "evaluate");
        throw new ExampleError(
          "INVALID_STATE",
          `the model's AUC ${ev.auc} is below the gate (${ev.minAuc}): not registered`,
        );
      }
      return { runId, steps: steps.sort((a, b) => (a.startTime ?? 0) - (b.startTime ?? 0)) };
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

function output(steps: StepRecord[], step: string): Record<string, unknown> {
  const s = steps.find((x) => x.step === step);
  if (!s || typeof s.output !== "object" || s.output === null)
    throw new ExampleError("INTERNAL_ERROR", `pipeline step ${step} left no output`);
  return s.output as Record<string, unknown>;
}

function stepLine(s: StepRecord): string {
  const secs = s.startTime && s.endTime ? `${((s.endTime - s.startTime) / 1000).toFixed(1)}s` : "";
  const out = Object.entries((s.output ?? {}) as Record<string, unknown>)
    .filter(([, v]) => typeof v === "number" || typeof v === "string" || typeof v === "boolean")
    .slice(0, 4)
    .map(
      ([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : short(String(v))}`,
    )
    .join(" ");
  return `${s.step.padEnd(18)} ${s.status.padEnd(9)} ${secs.padStart(5)}  ${out}`;
}

/** Scores users in small concurrent requests through the deployment, by entity id only. */
async function scoreUsers(keel: KeelApi, users: string[], update: (d: string) => void) {
  const scores = new Map<string, number>();
  const served = new Set<string>();
  const batches: string[][] = [];
  for (let i = 0; i < users.length; i += BATCH) batches.push(users.slice(i, i + BATCH));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const res = await keel.call<{
        model_name: string;
        model_version: string;
        outputs: Array<{ data: number[] }>;
      }>("POST", `/v2/models/${DEPLOYMENT}/infer`, { entities: { user_id: batch } });
      served.add(`${res.model_name} v${res.model_version}`);
      for (const [j, u] of batch.entries()) scores.set(u, Number(res.outputs[0].data[j]));
      // A quarter at a time: logs (no TTY) get a handful of lines, not one per request.
      if (scores.size % Math.max(BATCH, Math.ceil(users.length / 4 / BATCH) * BATCH) === 0)
        update(`${fmt(scores.size)}/${fmt(users.length)} users`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  let top = { user: users[0], score: -1 };
  for (const [user, score] of scores) if (score > top.score) top = { user, score };
  return { scores, served: [...served].join(", "), top };
}

/** Asks the router for an explanation and checks it adds up to the served score. */
async function explain(keel: KeelApi, user: string, score: number): Promise<QuickstartSummary["explained"]> {
  const res = await keel.call<{ outputs: Array<{ name: string; data: number[] }> }>(
    "POST",
    `/v2/models/${DEPLOYMENT}/explain`,
    { entities: { user_id: [user] } },
  );
  const tensor = (name: string) => res.outputs.find((t) => t.name === name)?.data ?? [];
  const contributions = tensor("contributions");
  const [base] = tensor("base_value");
  const [margin] = tensor("margin");
  const sum = contributions.reduce((a, b) => a + b, base);
  if (Math.abs(sum - margin) > 1e-6 || Math.abs(1 / (1 + Math.exp(-margin)) - score) > 1e-4)
    throw new ExampleError(
      "INTERNAL_ERROR",
      `the explanation of ${user} does not add up to its score ${score}`,
    );
  const top = USER_FEATURES.map((feature, i) => ({ feature, contribution: contributions[i] }))
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    .slice(0, 3);
  return { user, score, top };
}

const fmt = (n: number) => n.toLocaleString("en-US");
/** Long ids and paths keep their informative end. */
const short = (s: string) => (s.length > 36 ? `…${s.slice(-32)}` : s);

/** What to open and try once the quickstart has run, as printed after `Quickstart complete`. */
export function quickstartReport(s: QuickstartSummary, url: string): string[] {
  // The CLI's commands default to http://localhost:5000; name the server when it is elsewhere.
  const at = url === "http://localhost:5000" ? "" : ` --url ${url}`;
  const trees = s.runs[s.runs.length - 1];
  const v = s.version;
  const approval = s.promotion.autoApproved
    ? `auto-approved by ${s.promotion.reviewer} (local stage config)`
    : `approved by ${s.promotion.reviewer}`;
  return [
    `Quickstart complete: ${s.model} v${v} (${trees.algorithm}, AUC ${trees.auc.toFixed(3)}) is registered, ${approval}, ` +
      `and serves 100% of deployment '${s.deployment}'; the drift report says ${s.drift.status.toUpperCase()}.`,
    "  Open in the console:",
    `    training run   ${url}/pipelines/runs/${trees.runId}`,
    `    model version  ${url}/models/${s.model}/versions/${v}   (approval: promotion history; reviews: ${url}/reviews)`,
    `    deployment     ${url}/deployments/${s.deployment}`,
    `    drift          ${url}/monitoring/${s.deployment}`,
    "  Open:",
    `    drift report   ${url}/api/v1/monitoring/reports/${s.drift.reportId}.html`,
    `    model card     ${url}/api/v1/models/${s.model}/versions/${v}/card?format=html`,
    `    lineage        ${url}/api/v1/models/${s.model}/versions/${v}/lineage`,
    `    deployment     ${url}/api/v1/deployments/${s.deployment}`,
    "  Try:",
    `    curl -s ${url}/v2/models/${s.deployment}/infer -H 'content-type: application/json' -d '{"entities":{"user_id":["${s.explained.user}"]}}'`,
    `    curl -s ${url}/v2/models/${s.deployment}/explain -H 'content-type: application/json' -d '{"entities":{"user_id":["${s.explained.user}"]}}'`,
    `    keel model lineage ${s.model} ${v}${at}`,
    `    keel deploy status ${s.deployment}${at}`,
    `    keel monitor drift ${s.deployment} --latest${at}`,
    `    keel pipeline runs --pipeline ${fraudPipeline.name}${at}`,
    `    keel audit verify --url ${url}`,
  ];
}
