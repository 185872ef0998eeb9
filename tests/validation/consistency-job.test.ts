import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOnlineStore, encodeEntityKey } from "@keel/features";
import { CONSISTENCY_ALERT_ACTION, type ConsistencyJobDeps, runConsistencyJob } from "@keel/validation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { writeFeatureHistory } from "./helpers";

const dir = mkdtempSync(join(tmpdir(), "keel-consistency-job-"));
const now = Date.now();
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let deps: ConsistencyJobDeps;

/**
 * The scheduled consistency job (functions/consistency-check.ts) over the local platform's
 * services: each run is a tracking run with per-feature metrics and the JSON report; an
 * online store drifted on purpose raises an audit alert naming the feature.
 */
beforeAll(async () => {
  p = await startTestPlatform();
  const repo = await writeFeatureHistory(join(dir, "user_stats"), { entities: 100, features: 4, nowMs: now });
  expect((await p.call("POST", "/api/v1/features/apply", { definitions: repo })).status).toBe(200);
  expect((await p.call("POST", "/api/v1/features/materialize", { views: ["user_stats"] })).status).toBe(200);
  const { services, deps: d } = p.platform;
  deps = {
    features: services.features,
    tracking: services.tracking,
    artifacts: d.artifacts,
    audit: d.audit,
    now: () => d.clock.now(),
  };
}, 120_000);
afterAll(async () => {
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

const alerts = async () =>
  (
    await p.platform.deps.audit.list({
      action: CONSISTENCY_ALERT_ACTION,
      resource: "feature_view:user_stats",
    })
  ).events;

describe("the scheduled consistency job", () => {
  it("records a consistent view as a finished tracking run, without an alert", async () => {
    const r = await runConsistencyJob(deps, { view: "user_stats", sample: 100 });
    expect(r).toMatchObject({ view: "user_stats", passed: true, sampled: 100, alerted: false });
    const { run } = await p.platform.services.tracking.getRun(r.trackingRunId);
    expect(run.info.status).toBe("FINISHED");
    const metrics = Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value]));
    expect(metrics).toMatchObject({
      "consistency.passed": 1,
      "consistency.sampled": 100,
      "feature.f1.mismatch_rate": 0,
    });
    const tags = Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags["keel.consistency.report"]).toBe(r.reportUri);
    expect(await alerts()).toEqual([]);
  });

  it("raises an alert naming the drifted feature when over the threshold", async () => {
    const online = createOnlineStore(p.platform.deps.config);
    const key = encodeEntityKey(["u3"]);
    const [u3] = await online.read("user_stats", [key]);
    await online.write(
      { name: "user_stats", ttlSeconds: 7 * 86_400 },
      [{ entityKey: key, eventTs: u3!.eventTs, createdTs: 0, values: { ...u3!.values, f1: -999 } }],
      now,
    );
    await online.close();
    const r = await runConsistencyJob(deps, { view: "user_stats", sample: 100, threshold: 0.001 });
    expect(r).toMatchObject({ passed: false, alerted: true });
    expect(r.mismatchRate).toBeCloseTo(0.01, 9);
    const { run } = await p.platform.services.tracking.getRun(r.trackingRunId);
    expect(run.info.status).toBe("FAILED");
    const [alert] = await alerts();
    expect(alert.state).toMatchObject({
      trackingRunId: r.trackingRunId,
      threshold: 0.001,
      features: [{ name: "f1", different: 1, missing: 0, stale: 0 }],
    });
    // Within a looser threshold the same drift passes and raises nothing more.
    const loose = await runConsistencyJob(deps, { view: "user_stats", sample: 100, threshold: 0.05 });
    expect(loose.passed).toBe(true);
    expect(await alerts()).toHaveLength(1);
  });

  it("rejects a malformed schedule input, naming the field", async () => {
    await expect(runConsistencyJob(deps, { view: "user_stats", sample: 0 })).rejects.toThrow(/sample/);
    await expect(runConsistencyJob(deps, {})).rejects.toThrow(/view/);
  });
});
