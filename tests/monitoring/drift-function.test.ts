import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPlatform, type Platform } from "@keel/app";
import { loadConfig } from "@keel/core";
import { DynamoDbMetadataStore, startDynalite } from "@keel/metadata";
import type { MonitoringModule } from "@keel/monitoring";
import { profileDataset, Random } from "@keel/train";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The scheduled Lambda (functions/drift.ts) as AWS runs it: configured only through the
 * environment, on its own platform instance, over the same table and artifact root that a
 * second platform (standing in for the API and the router) wrote the run, the registered
 * version and the prediction log to.
 */
describe("scheduled drift function", () => {
  let dynalite: Awaited<ReturnType<typeof startDynalite>>;
  let dir = "";
  let writer: Platform;

  beforeAll(async () => {
    dynalite = await startDynalite();
    dir = await mkdtemp(join(tmpdir(), "keel-drift-fn-"));
    const env = {
      KEEL_DYNAMODB_ENDPOINT: dynalite.endpoint,
      KEEL_TABLE: "drift-fn",
      KEEL_ARTIFACT_ROOT: dir,
      KEEL_LOG_LEVEL: "silent",
    };
    Object.assign(process.env, env);
    const store = new DynamoDbMetadataStore({ table: "drift-fn", endpoint: dynalite.endpoint });
    await store.ensureTable();
    writer = await createPlatform(loadConfig(), { store });

    const rng = new Random(4);
    const train = Array.from({ length: 2000 }, () => rng.next() * 10);
    const profile = profileDataset({
      features: ["x"],
      columns: [Float64Array.from(train)],
      label: new Float64Array(train.length),
    });
    const { experiment_id } = await writer.services.tracking.createExperiment({ name: "drift-fn" });
    const { run } = await writer.services.tracking.createRun({ experiment_id });
    const runId = run.info.run_id;
    await writer.deps.artifacts.put(
      `${experiment_id}/${runId}/artifacts/baseline/profile.json`,
      Buffer.from(JSON.stringify(profile)),
    );
    await writer.services.registry.createRegisteredModel({ name: "scorer" });
    await writer.services.registry.createModelVersion({
      name: "scorer",
      source: `runs:/${runId}/model`,
      runId,
    });

    const monitoring = writer.modules.find((m) => m.name === "monitoring") as unknown as MonitoringModule;
    const now = Date.now();
    for (const [deployment, model] of [
      ["scorer-prod", "scorer"],
      ["unregistered", "ghost"],
    ]) {
      for (let i = 0; i < 50; i++) {
        monitoring.predictionSink.record({
          deployment,
          model,
          version: "1",
          requestId: `${deployment}-${i}`,
          time: now - 1000 - i,
          latencyMs: 1,
          inputs: { features: Array.from({ length: 10 }, () => [5 + rng.next() * 10]) },
          outputs: { score: [[0]] },
        });
      }
    }
    await monitoring.predictionLog.flush();
  });
  afterAll(async () => {
    await writer?.stop();
    await dynalite?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("checks every deployment with logged predictions and skips those without a baseline", async () => {
    const { handler } = await import("../../functions/drift");
    const out = (await handler({ window: "1h" })) as { results: Array<Record<string, string>> };
    const byName = Object.fromEntries(out.results.map((r) => [r.deployment, r]));
    expect(byName["scorer-prod"].status).toBe("drift");
    expect(byName.unregistered.skipped).toMatch(/ghost|no training baseline/);
    const latest = await writer.services.monitoring.latestReport("scorer-prod");
    expect(latest.id).toBe(byName["scorer-prod"].reportId);
    await expect(handler({ deployments: ["scorer-prod"], window: "tomorrow" })).rejects.toThrow(/window/);
  });
});
