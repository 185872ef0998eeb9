import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeelClient } from "@keel/sdk";
import { afterAll, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/** A second local platform on the same data dir sees everything the first one wrote. */
const dataDir = mkdtempSync(join(tmpdir(), "keel-tracking-persist-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it("experiments, runs, metrics and histories survive a restart", async () => {
  const first = await startTestPlatform({ dataDir });
  let runId: string;
  let exp: string;
  try {
    const keel = new KeelClient({ url: first.url });
    exp = await keel.tracking.createExperiment("persisted");
    runId = (await keel.tracking.createRun({ experiment_id: exp, run_name: "keep-me" })).info.run_id;
    await keel.tracking.logBatch(runId, {
      metrics: Array.from({ length: 20 }, (_, i) => ({
        key: "loss",
        value: 1 / (i + 1),
        step: i,
        timestamp: i,
      })),
      params: { lr: 0.1 },
    });
    await keel.tracking.endRun(runId);
  } finally {
    await first.close();
  }

  const second = await startTestPlatform({ dataDir });
  try {
    const keel = new KeelClient({ url: second.url });
    expect((await keel.tracking.getExperimentByName("persisted"))?.experiment_id).toBe(exp);
    const run = await keel.tracking.getRun(runId);
    expect(run.info).toMatchObject({ run_name: "keep-me", status: "FINISHED" });
    expect(run.data.params).toEqual([{ key: "lr", value: "0.1" }]);
    expect((await keel.tracking.metricHistory(runId, "loss")).map((m) => m.step)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    const found = await keel.tracking.searchRuns([exp], { filter: "metrics.loss < 0.1" });
    expect(found.items.map((r) => r.info.run_id)).toEqual([runId]);
    // Ids keep counting from where they were: no reuse after a restart.
    expect(Number(await keel.tracking.createExperiment("after-restart"))).toBeGreaterThan(Number(exp));
  } finally {
    await second.close();
  }
});
