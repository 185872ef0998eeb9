import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureConsoleBuilt } from "@keel/console";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type QuickstartSummary, runQuickstart } from "../../examples/fraud-detection/src/quickstart";
import { startOidcServer } from "../helpers/oidc-server";
import { startTestPlatform } from "../helpers/platform";
import { launchBrowser, openPage, screenshot, signIn } from "./browser";
import { HOLD_PIPELINE } from "./hold-pipeline";

const silent = {
  task: <T>(_title: string, fn: (update: (d: string) => void) => Promise<T>) => fn(() => undefined),
  info: () => undefined,
};

/**
 * The console in a real browser (Debian's chromium through playwright-core) against the
 * platform on a real port with the quickstart's data (at the e2e test's smaller scale): every
 * page loads cleanly, and the actions a person takes there reach the server and show its answer.
 * Screenshots of every page land in test-results/console/.
 */
describe("console (browser)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "keel-console-"));
  let platform: Awaited<ReturnType<typeof startTestPlatform>>;
  let summary: QuickstartSummary;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let experimentId: string;
  let pendingId: string;
  /** The tracking runs that trained versions 1 and 2. */
  let trained: string[];
  let idp: Awaited<ReturnType<typeof startOidcServer>>;

  beforeAll(async () => {
    ensureConsoleBuilt({ quiet: true });
    idp = await startOidcServer({
      clientId: "keel-console",
      user: { sub: "u-123", email: "ida@example.com" },
    });
    platform = await startTestPlatform({
      dataDir,
      config: {
        registry: { autoApproveStages: ["Production"] },
        auth: { oidcIssuer: idp.issuer, oidcClientId: "keel-console", oidcScopes: "openid email" },
      },
    });
    summary = await runQuickstart({
      url: platform.url,
      dataDir,
      offlineRoot: join(dataDir, "offline"),
      progress: silent,
      registerPipelines: (file) => platform.platform.services.pipelines.registerFile(file),
      users: 300,
      days: 30,
    });
    const exp = await platform.call(
      "GET",
      "/api/2.0/mlflow/experiments/get-by-name?experiment_name=fraud-detection",
    );
    experimentId = exp.json.experiment.experiment_id;
    trained = await Promise.all(
      ["1", "2"].map(
        async (v) =>
          (await platform.call("GET", `/api/2.0/mlflow/model-versions/get?name=fraud&version=${v}`)).json
            .model_version.run_id,
      ),
    );
    // dana asks for the protected 'champion' alias: it waits for a second person.
    const req = await platform.call(
      "POST",
      "/api/v1/models/fraud/versions/1/promotions",
      { alias: "champion", comment: "baseline as champion" },
      { "x-keel-principal": "dana" },
    );
    expect(req.json.promotion.status).toBe("PENDING");
    pendingId = req.json.promotion.id;
    // A pipeline whose one step waits for a file: a run that stays RUNNING until the test lets it go.
    writeFileSync(join(dataDir, "hold.ts"), HOLD_PIPELINE);
    await platform.platform.services.pipelines.registerFile(join(dataDir, "hold.ts"));
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser, platform.url));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.close();
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Opens a console URL and waits for its heading and for loading to finish. */
  async function visit(path: string) {
    await page.goto(path);
    await page.locator("main h1").first().waitFor();
    await page.waitForFunction(
      `!document.querySelector("main [role=status]")?.textContent?.includes("Loading")`,
    );
  }

  it("serves every page without console errors, each at its own URL", async () => {
    const v = summary.version;
    const pages: Array<[string, string, string]> = [
      ["/", "Experiments", "experiments"],
      [`/experiments/${experimentId}`, "Runs of fraud-detection", "runs"],
      [`/runs/${trained[1]}`, "Run", "run"],
      [`/runs/${trained[1]}?tab=artifacts`, "Run", "run-artifacts"],
      [`/compare?runs=${trained.join(",")}`, "Compare runs", "compare"],
      ["/models", "Registered models", "models"],
      ["/models/fraud", "Model fraud", "model"],
      [`/models/fraud/versions/${v}`, `fraud v${v}`, "model-version"],
      ["/reviews", "Review queue", "reviews"],
      ["/pipelines", "Pipelines", "pipelines"],
      ["/pipelines/fraud-detection", "Pipeline fraud-detection", "pipeline"],
      ["/features", "Features", "features"],
      ["/deployments", "Deployments", "deployments"],
      [`/deployments/${summary.deployment}`, `Deployment ${summary.deployment}`, "deployment"],
      ["/monitoring", "Monitoring", "monitoring"],
      [`/monitoring/${summary.deployment}`, `Drift of ${summary.deployment}`, "drift"],
      ["/audit", "Audit trail", "audit"],
    ];
    for (const [path, title, shot] of pages) {
      errors.length = 0;
      await visit(path);
      expect(await page.locator("main h1").first().textContent()).toContain(title);
      await page.waitForTimeout(300);
      expect(errors, path).toEqual([]);
      expect(
        await page.locator("main .error").count(),
        `${path}: ${await page.locator("main .error").allTextContents()}`,
      ).toBe(0);
      await screenshot(page, shot);
    }
    // The API keeps its own 404s; the console never answers for it.
    expect((await platform.call("GET", "/api/v1/no-such-route")).status).toBe(404);
  });

  const rowCount = (n: number) =>
    page.waitForFunction(`document.querySelectorAll("[data-testid=runs-table] tbody tr").length === ${n}`);

  it("finds runs with an MLflow filter, and back/forward restore the table", async () => {
    await visit(`/experiments/${experimentId}`);
    const rows = page.locator("[data-testid=runs-table] tbody tr");
    expect(await rows.count()).toBe(2);
    await page
      .getByLabel("Filter (MLflow search syntax)")
      .fill("params.algorithm = 'gbdt' and metrics.valid_auc > 0.5");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/filter=/);
    await rowCount(1);
    expect(await rows.first().textContent()).toContain("gbdt");
    await page.goBack();
    await rowCount(2);
    await page.goForward();
    await rowCount(1);
    await screenshot(page, "runs-filtered");
  });

  it("charts every logged point of a metric", async () => {
    const runId = trained[1];
    const history = await platform.call(
      "GET",
      `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=train_logloss`,
    );
    const logged = history.json.metrics.length;
    expect(logged).toBeGreaterThan(10);
    await visit(`/runs/${runId}?tab=charts&metric=train_logloss`);
    const chart = page.locator(`.chart[data-points="${logged}"]`);
    await chart.waitFor();
    expect(await chart.locator("canvas").count()).toBeGreaterThan(0);
    await page.getByLabel("Log scale").check();
    await page.waitForURL(/log=1/);
    await screenshot(page, "run-chart");
  });

  it("browses a run's artifacts: folders, a text preview and a download", async () => {
    await visit(`/runs/${trained[1]}?tab=artifacts`);
    await page.getByRole("link", { name: "model/" }).click();
    await page.waitForURL(/dir=model/);
    await page.getByRole("link", { name: "input_schema.json" }).click();
    const preview = page.locator(".preview pre");
    await preview.waitFor();
    const schema = await platform.call(
      "GET",
      `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${trained[1]}/artifacts/model/input_schema.json`,
    );
    expect(await preview.textContent()).toBe(schema.text);
    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download input_schema.json" }).click();
    expect((await download).suggestedFilename()).toBe("input_schema.json");
    await screenshot(page, "run-artifact-preview");
  });

  it("lets an approver approve a pending promotion, and not its requester", async () => {
    await signIn(page, { principal: "dana" });
    await visit("/reviews");
    const card = page.locator(`[data-testid=review-${pendingId}]`);
    await card.waitFor();
    expect(await card.getByRole("button", { name: "Approve" }).isDisabled()).toBe(true);
    expect(await card.textContent()).toContain("a second person must approve");
    await screenshot(page, "review-requester");

    await signIn(page, { principal: "abe" });
    await visit("/reviews");
    await card.getByLabel("Review comment").fill("looks right");
    await card.getByRole("button", { name: "Approve" }).click();
    await card.getByText("APPROVED by abe").waitFor();
    await screenshot(page, "review-approved");
    const p = await platform.call("GET", `/api/v1/promotions/${pendingId}`);
    expect(p.json.promotion).toMatchObject({
      status: "APPROVED",
      reviewer: "abe",
      review_comment: "looks right",
    });
    await signIn(page, {});
  });

  it("starts a pipeline run from the form generated from its parameters; the DAG shows it succeed", async () => {
    await visit("/pipelines/fraud-detection");
    await page.getByLabel(/^algorithm/).selectOption("logistic");
    await page.getByLabel("Ignore the step cache").check();
    const streams: string[] = [];
    const onResponse = (r: { url: () => string; headers: () => Record<string, string> }) => {
      if (r.url().includes("/events")) streams.push(r.headers()["content-type"] ?? "");
    };
    page.on("response", onResponse);
    await page.getByRole("button", { name: "Start run" }).click();
    await page.waitForURL(/\/pipelines\/runs\//);
    await page.locator("[data-testid=run-status]", { hasText: "SUCCEEDED" }).waitFor({ timeout: 120_000 });
    page.off("response", onResponse);
    // The DAG followed the run by server-sent events (polling is only their fallback).
    expect(streams.length).toBeGreaterThan(0);
    expect(streams[0]).toMatch(/^text\/event-stream/);
    const runId = page.url().split("/").pop() as string;
    const run = await platform.call("GET", `/api/v1/pipelines/runs/${runId}`);
    expect(run.json.run).toMatchObject({
      status: "SUCCEEDED",
      params: expect.objectContaining({ algorithm: "logistic" }),
    });
    // Each step's box in the DAG shows the status the server recorded for it.
    const expected = Object.fromEntries(
      run.json.steps.map((st: { step: string; status: string }) => [st.step, st.status]),
    );
    expect(expected.train).toBe("SUCCEEDED");
    await page.waitForFunction(
      `[...document.querySelectorAll("[data-node]")].every((n) => (${JSON.stringify(expected)})[n.getAttribute("data-node")] === n.getAttribute("data-status"))`,
    );
    await screenshot(page, "pipeline-run");
  }, 150_000);

  it("backfills a day from the pipeline page: its run gets the last run's parameters and succeeds", async () => {
    const last = (await platform.call("GET", "/api/v1/pipelines/runs?pipeline=fraud-detection&limit=1")).json
      .runs[0];
    await visit("/pipelines/fraud-detection");
    const form = page.getByRole("form", { name: "Backfill" });
    await form.getByLabel("From").fill("2026-11-01");
    await form.getByLabel("To").fill("2026-11-01");
    await form.getByRole("button", { name: "Backfill" }).click();
    await page.getByText("1 runs started").waitFor();
    let runId = "";
    await expect
      .poll(async () => {
        const runs = await platform.call("GET", "/api/v1/pipelines/runs?pipeline=fraud-detection");
        runId = runs.json.runs.find((r: { trigger: string }) => r.trigger === "backfill")?.runId ?? "";
        return runId;
      })
      .not.toBe("");
    await visit(`/pipelines/runs/${runId}`);
    await page
      .locator("[data-testid=run-status]", { hasText: /SUCCEEDED|FAILED|ABORTED/ })
      .waitFor({ timeout: 120_000 });
    const run = (await platform.call("GET", `/api/v1/pipelines/runs/${runId}`)).json.run;
    expect(run, JSON.stringify(run)).toMatchObject({
      status: "SUCCEEDED",
      trigger: "backfill",
      // The last run's parameters (fraud-detection's schema declares no `ds`, so it keeps none).
      params: expect.objectContaining({ algorithm: last.params.algorithm, keelUrl: last.params.keelUrl }),
    });
  }, 150_000);

  it("stops a running pipeline run and resumes it to success", async () => {
    const gate = join(dataDir, "hold.gate");
    const started = await platform.call("POST", "/api/v1/pipelines/hold/runs", { params: { gate } });
    expect(started.status, started.text).toBeLessThan(300);
    const runId = started.json.run.runId;
    await visit(`/pipelines/runs/${runId}`);
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator("[data-testid=run-status]", { hasText: "ABORTED" }).waitFor({ timeout: 60_000 });
    expect((await platform.call("GET", `/api/v1/pipelines/runs/${runId}`)).json.run.status).toBe("ABORTED");
    await screenshot(page, "pipeline-run-stopped");
    writeFileSync(gate, "go");
    await page.getByRole("button", { name: "Resume" }).click();
    await page
      .locator("[data-testid=run-status]", { hasText: /SUCCEEDED|FAILED|TIMED_OUT/ })
      .waitFor({ timeout: 60_000 });
    expect(await page.locator("main .error").allTextContents()).toEqual([]);
    const resumedId = page.url().split("/").pop() as string;
    const resumed = (await platform.call("GET", `/api/v1/pipelines/runs/${resumedId}`)).json;
    expect(resumed.run.status, JSON.stringify(resumed)).toBe("SUCCEEDED");
    if (resumedId !== runId) expect(resumed.run).toMatchObject({ trigger: "resume", resumedFrom: runId });
    await screenshot(page, "pipeline-run-resumed");
  }, 150_000);

  it("reads online features for an entity on the features page, as the API answers", async () => {
    await visit("/features");
    const form = page.getByRole("form", { name: "Online read" });
    const service = await form.getByLabel("Feature service").inputValue();
    const key = form.getByRole("textbox");
    const joinKey = (await form.locator("label").nth(1).textContent())?.trim() as string;
    await key.fill("u00001");
    await form.getByRole("button", { name: "Read" }).click();
    const table = page.getByRole("table", { name: "Online features" });
    await table.waitFor();
    const api = await platform.call("POST", "/api/v1/features/get-online-features", {
      feature_service: service,
      entities: { [joinKey]: ["u00001"] },
      full_feature_names: false,
    });
    expect(api.status).toBe(200);
    const names: string[] = api.json.metadata.feature_names;
    expect(await table.locator("th").allTextContents()).toEqual(names);
    const statuses: string[] = api.json.results.map((r: { statuses: string[] }) => r.statuses[0]);
    expect(statuses).toContain("PRESENT");
    const cells = await table.locator("td").allTextContents();
    statuses.forEach((st, i) => {
      expect(cells[i]).toContain(st);
    });
    await screenshot(page, "features-online-read");
  });

  it("computes drift now from the monitoring page, shows the new report and the history", async () => {
    const name = summary.deployment;
    await visit(`/monitoring/${name}`);
    const before = await page.locator("[data-report]").getAttribute("data-report");
    await page.getByRole("button", { name: "Compute drift now" }).click();
    await page.waitForFunction(
      `(() => { const r = document.querySelector("[data-report]")?.getAttribute("data-report"); return r && r !== ${JSON.stringify(before)}; })()`,
    );
    const latest = await platform.call("GET", `/api/v1/monitoring/deployments/${name}/drift`);
    expect(await page.locator("[data-report]").getAttribute("data-report")).toBe(latest.json.id);
    expect(await page.locator("main .error").count()).toBe(0);
    await screenshot(page, "drift-computed");
    // The history lists past reports, newest first; opening the older one shows it.
    const history = await platform.call("GET", `/api/v1/monitoring/deployments/${name}/drift/reports`);
    const ids: string[] = history.json.reports.map((r: { id: string }) => r.id);
    expect(ids[0]).toBe(latest.json.id);
    expect(ids).toContain(before);
    await page.waitForFunction(`document.querySelectorAll("[data-history]").length === ${ids.length}`);
    await page.locator(`[data-history="${before}"] a`).click();
    await page.waitForURL(/report=/);
    await page.locator(`[data-report="${before}"]`).waitFor();
    expect(await page.locator(`[data-history="${before}"]`).getAttribute("aria-current")).toBe("true");
    await page.goBack();
    await page.locator(`[data-report="${latest.json.id}"]`).waitFor();
    await screenshot(page, "drift-history");
  });

  it("overlays one metric of several runs in one chart", async () => {
    const counts = await Promise.all(
      trained.map(
        async (id) =>
          (
            await platform.call(
              "GET",
              `/api/2.0/mlflow/metrics/get-history?run_id=${id}&metric_key=train_logloss`,
            )
          ).json.metrics.length as number,
      ),
    );
    await visit(`/charts?runs=${trained.join(",")}&metric=train_logloss`);
    const chart = page.locator(".chart[data-series]");
    await chart.waitFor();
    const series = JSON.parse((await chart.getAttribute("data-series")) as string) as Array<[string, number]>;
    expect(series.map(([, n]) => n)).toEqual(counts);
    const names = await Promise.all(
      trained.map(
        async (id) =>
          (await platform.call("GET", `/api/2.0/mlflow/runs/get?run_id=${id}`)).json.run.info
            .run_name as string,
      ),
    );
    expect(series.map(([label]) => label)).toEqual(names);
    await screenshot(page, "charts-overlaid");
  });

  it("scatters a metric against another across the compared runs, and draws parallel coordinates", async () => {
    const runs = await Promise.all(
      trained.map(
        async (id) => (await platform.call("GET", `/api/2.0/mlflow/runs/get?run_id=${id}`)).json.run,
      ),
    );
    const latest = (run: { data: { metrics: Array<{ key: string; value: number }> } }, key: string) =>
      run.data.metrics.find((m) => m.key === key)?.value;
    const common = runs[0].data.metrics
      .map((m: { key: string }) => m.key)
      .filter((k: string) => latest(runs[1], k) !== undefined)
      .sort();
    expect(common.length).toBeGreaterThan(1);
    const [xKey, yKey] = common;
    await visit(`/compare?runs=${trained.join(",")}&x=metrics.${xKey}&y=metrics.${yKey}`);
    const chart = page.locator(".chart[data-xy]");
    await chart.waitFor();
    const [[xs, ys]] = JSON.parse((await chart.getAttribute("data-xy")) as string) as number[][][];
    expect(xs).toEqual(runs.map((r) => latest(r, xKey)));
    expect(ys).toEqual(runs.map((r) => latest(r, yKey)));
    // Parallel coordinates: one axis per numeric column of both runs, one line per run.
    const parallel = page.getByRole("region", { name: "Parallel coordinates" });
    const axes = JSON.parse((await parallel.getAttribute("data-axes")) as string) as string[];
    expect(axes).toEqual(expect.arrayContaining(common.map((k: string) => `metrics.${k}`)));
    const lines = JSON.parse(
      (await parallel.locator(".chart[data-series]").getAttribute("data-series")) as string,
    ) as Array<[string, number]>;
    expect(lines).toEqual(runs.map((r) => [r.info.run_name, axes.length]));
    await screenshot(page, "compare-scatter");
  });

  it("shifts canary traffic from the deployment page", async () => {
    const name = summary.deployment;
    const before = await platform.call("GET", `/api/v1/deployments/${name}`);
    const version = before.json.stable.version === "1" ? "2" : "1";
    await visit(`/deployments/${name}`);
    await page.getByLabel("Canary version").fill(version);
    await page.getByLabel("Canary weight (%)").fill("25");
    await page.getByRole("button", { name: "Shift" }).click();
    await page.locator("[data-testid=split]", { hasText: `canary v${version} 25%` }).waitFor();
    await screenshot(page, "deployment-shifted");
    const after = await platform.call("GET", `/api/v1/deployments/${name}`);
    expect(after.json.canary).toMatchObject({ version, weight: 25 });
  });

  it("does from the browser what the CLI does: deploy create, model policy, pipeline compile", async () => {
    // keel deploy create <name> <model> <version>
    await visit("/deployments");
    const form = page.getByRole("form", { name: "Create a deployment" });
    await form.getByLabel("Name").fill("console-made");
    await form.getByLabel("Model").fill("fraud");
    await form.getByLabel("Version").fill(String(summary.version));
    await form.getByRole("button", { name: "Create deployment" }).click();
    await page.waitForURL(/\/deployments\/console-made$/);
    const made = await platform.call("GET", "/api/v1/deployments/console-made");
    expect(made.json.stable).toMatchObject({ model: "fraud", version: String(summary.version) });
    // keel model policy <name>: shown, and editable by an admin (laptop mode holds every role).
    await visit("/models/fraud");
    const policy = page.getByRole("region", { name: "Promotion policy" });
    await policy.getByRole("button", { name: "Save policy" }).waitFor();
    const served = (await platform.call("GET", "/api/v1/models/fraud/policy")).json.policy;
    expect(JSON.parse((await policy.getByLabel("Policy (JSON)").inputValue()) as string)).toEqual(served);
    // keel pipeline compile: the pipeline's ASL.
    await visit("/pipelines/fraud-detection");
    await page.getByText("Amazon States Language").click();
    await page.locator("main pre", { hasText: "StartAt" }).first().waitFor();
    expect(errors).toEqual([]);
  });

  it("verifies the audit chain and shows an event with its predecessor", async () => {
    await visit("/audit");
    await page.getByRole("button", { name: "Verify the chain" }).click();
    const result = page.locator("[data-testid=verify-result]");
    await result.waitFor();
    expect(await result.textContent()).toContain("Chain verified");
    await page.locator("main table.grid tbody tr a").nth(1).click();
    await page.waitForURL(/event=/);
    expect(await page.locator("main").textContent()).toContain("hash links");
    await screenshot(page, "audit-verified");
  });

  it("signs in at the identity provider (code flow with PKCE), calls the API with its token, and signs out", async () => {
    // The server's laptop mode reads the caller's name from the Bearer JWT without verifying it
    // (in AWS, API Gateway's JWT authorizer verifies it against the issuer's JWKS).
    const tab = await openPage(browser, platform.url);
    await tab.page.goto("/signin");
    const meCall = tab.page.waitForRequest(
      (r) => r.url().endsWith("/api/v1/me") && !!r.headers().authorization?.startsWith("Bearer "),
    );
    await tab.page.getByRole("button", { name: "Sign in with the identity provider" }).click();
    await tab.page.waitForURL(/\/experiments$/);
    await tab.page.getByTestId("who").getByText("ida@example.com").waitFor();
    const sent = (await meCall).headers().authorization.slice("Bearer ".length);
    expect(JSON.parse(Buffer.from(sent.split(".")[1], "base64url").toString())).toMatchObject({
      iss: idp.issuer,
      sub: "u-123",
      aud: "keel-console",
    });
    const [auth] = idp.authorizations;
    expect(auth).toMatchObject({
      response_type: "code",
      client_id: "keel-console",
      redirect_uri: `${platform.url}/signin/callback`,
      scope: "openid email",
      code_challenge_method: "S256",
    });
    expect(auth.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.state.length).toBeGreaterThan(10);
    // The provider checked the PKCE verifier against the challenge before answering tokens.
    expect(idp.exchanges).toEqual([{ status: 200 }]);
    // Kept for this tab only, never in localStorage.
    expect(await tab.page.evaluate(`localStorage.getItem("keel.console.session")`)).toBeNull();
    expect(await tab.page.evaluate(`sessionStorage.getItem("keel.console.session")`)).toContain(sent);
    await screenshot(tab.page, "signed-in-oidc");

    await tab.page.goto("/signin");
    await tab.page.getByRole("button", { name: "Sign out" }).click();
    await tab.page.getByTestId("who").getByText("local-user").waitFor();
    expect(await tab.page.evaluate(`sessionStorage.getItem("keel.console.session")`)).toBeNull();
    expect(tab.errors).toEqual([]);
    await tab.context.close();
  });

  it("is usable on a phone: the menu opens the navigation", async () => {
    const phone = await openPage(browser, platform.url, { width: 390, height: 844 });
    await phone.page.goto("/models");
    await phone.page.locator("main h1").waitFor();
    expect(await phone.page.locator("#nav").isVisible()).toBe(false);
    await phone.page.getByRole("button", { name: "Menu" }).click();
    await phone.page.getByRole("link", { name: "Deployments" }).click();
    await phone.page.locator("main h1", { hasText: "Deployments" }).waitFor();
    await screenshot(phone.page, "phone-deployments");
    expect(phone.errors).toEqual([]);
    await phone.context.close();
  });
});

/** With `keel dev --auth`: the console shows each person only what their roles allow. */
describe("console (browser) with users and roles", () => {
  let platform: Awaited<ReturnType<typeof startTestPlatform>>;
  let browser: Browser;
  const tokens: Record<string, string> = {};
  let promotionId: string;

  beforeAll(async () => {
    ensureConsoleBuilt({ quiet: true });
    platform = await startTestPlatform({ auth: "users" });
    for (const [name, roles] of [
      ["vera", ["viewer"]],
      ["dana", ["data-scientist"]],
      ["abe", ["approver"]],
    ] as const)
      tokens[name] = (await platform.platform.access.users.add(name, [...roles])).token;
    const dana = { authorization: `Bearer ${tokens.dana}` };
    const M = "/api/2.0/mlflow";
    const exp = await platform.call("POST", `${M}/experiments/create`, { name: "scoring" }, dana);
    const run = await platform.call(
      "POST",
      `${M}/runs/create`,
      { experiment_id: exp.json.experiment_id },
      dana,
    );
    const runId = run.json.run.info.run_id;
    await platform.call(
      "POST",
      `${M}/runs/log-metric`,
      { run_id: runId, key: "auc", value: 0.93, timestamp: 1, step: 0 },
      dana,
    );
    await platform.call("POST", `${M}/registered-models/create`, { name: "scorer" }, dana);
    const v = await platform.call(
      "POST",
      `${M}/model-versions/create`,
      { name: "scorer", source: `runs:/${runId}/model`, run_id: runId },
      dana,
    );
    expect(v.status).toBe(200);
    const req = await platform.call(
      "POST",
      "/api/v1/models/scorer/versions/1/promotions",
      { stage: "Production" },
      dana,
    );
    expect(req.json.promotion.status).toBe("PENDING");
    promotionId = req.json.promotion.id;
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.close();
  });

  async function signedIn(name: string) {
    const { page, context, errors } = await openPage(browser, platform.url);
    await page.goto("/signin");
    await page.getByLabel("API token").fill(tokens[name]);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("who").getByText(name).waitFor();
    // Before signing in, the page's question "who am I?" was answered 401: expected, not an error.
    expect(errors.every((e) => e.includes("401"))).toBe(true);
    errors.length = 0;
    return { page, context, errors };
  }

  async function reviewAs(name: string) {
    const { page, context, errors } = await signedIn(name);
    await page.goto("/reviews");
    const card = page.locator(`[data-testid=review-${promotionId}]`);
    await card.waitFor();
    await screenshot(page, `review-as-${name}`);
    return { card, context, errors };
  }

  it("gives a viewer and the requester (no approve role) no approve button, an approver a working one", async () => {
    const vera = await reviewAs("vera");
    expect(await vera.card.getByRole("button", { name: "Approve" }).count()).toBe(0);
    expect(await vera.card.textContent()).toContain("Only an approver");
    expect(vera.errors).toEqual([]);
    await vera.context.close();

    const dana = await reviewAs("dana");
    // dana holds no approve permission either: no button at all.
    expect(await dana.card.getByRole("button", { name: "Approve" }).count()).toBe(0);
    await dana.context.close();

    const abe = await reviewAs("abe");
    await abe.card.getByRole("button", { name: "Approve" }).click();
    await abe.card.getByText("APPROVED by abe").waitFor();
    expect(abe.errors).toEqual([]);
    await abe.context.close();
    const p = await platform.call("GET", `/api/v1/promotions/${promotionId}`, undefined, {
      authorization: `Bearer ${tokens.vera}`,
    });
    expect(p.json.promotion).toMatchObject({ status: "APPROVED", reviewer: "abe" });
  });

  it("lets a data scientist edit a version's model card; a viewer sees no edit button and the server refuses", async () => {
    const vera = await signedIn("vera");
    await vera.page.goto("/models/scorer/versions/1");
    await vera.page.getByTitle("Model card").waitFor();
    expect(await vera.page.getByRole("button", { name: "Edit model card" }).count()).toBe(0);
    // Nor the other write actions the CLI offers.
    await vera.page.goto("/models/scorer");
    await vera.page.getByRole("region", { name: "Promotion policy" }).waitFor();
    expect(await vera.page.getByRole("button", { name: "Save policy" }).count()).toBe(0);
    await vera.page.goto("/deployments");
    await vera.page.locator("main h1").waitFor();
    expect(await vera.page.getByRole("button", { name: "Create deployment" }).count()).toBe(0);
    await vera.context.close();
    const refused = await platform.call(
      "PUT",
      "/api/v1/models/scorer/versions/1/card",
      { intended_use: "anything" },
      { authorization: `Bearer ${tokens.vera}` },
    );
    expect(refused.status).toBe(403);

    const dana = await signedIn("dana");
    await dana.page.goto("/models/scorer/versions/1");
    await dana.page.getByRole("button", { name: "Edit model card" }).click();
    const form = dana.page.getByRole("form", { name: "Edit model card" });
    await form.getByLabel("Intended use").fill("Scoring card transactions for fraud review.");
    await form.getByLabel("Limitations").fill("Not for transactions over 10,000 EUR.");
    await form.getByRole("button", { name: "Save card" }).click();
    await dana.page.getByText("Model card saved").waitFor();
    // The card shown is the server's new one.
    await dana.page.waitForFunction(
      `document.querySelector("iframe[title='Model card']")?.getAttribute("srcdoc")?.includes("fraud review")`,
    );
    await screenshot(dana.page, "model-card-edited");
    expect(dana.errors).toEqual([]);
    await dana.context.close();
    const card = await platform.call("GET", "/api/v1/models/scorer/versions/1/card", undefined, {
      authorization: `Bearer ${tokens.vera}`,
    });
    expect(card.text).toContain("Scoring card transactions for fraud review.");
    expect(card.text).toContain("Not for transactions over 10,000 EUR.");
  });

  it("answers the console's pages without a token, and the API with 401", async () => {
    const page = await fetch(`${platform.url}/models/scorer`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    expect((await fetch(`${platform.url}/api/v1/me`)).status).toBe(401);
    // The sign-in settings are public; this server has no identity provider configured.
    const config = await fetch(`${platform.url}/api/v1/console/config`);
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({ oidc: null });
  });
});
